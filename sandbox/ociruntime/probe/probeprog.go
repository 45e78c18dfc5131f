package probe

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
)

// exitCode is what the probe program exits with: a runtime that reports it
// ran the program, not merely that it did not fail.
const exitCode = 42

// probeCode is the machine code of the probe program for each GOARCH:
// exit(42) and nothing else. Each is the Linux exit syscall of its
// architecture, with no libc, no stack and no data.
var probeCode = map[string]struct {
	machine elf.Machine
	code    []byte
}{
	// mov edi, 42; mov eax, 60 (exit); syscall
	"amd64": {elf.EM_X86_64, []byte{0xbf, exitCode, 0, 0, 0, 0xb8, 60, 0, 0, 0, 0x0f, 0x05}},
	// mov x0, #42; mov x8, #93 (exit); svc #0
	"arm64": {elf.EM_AARCH64, le32(0xd2800000|exitCode<<5, 0xd2800000|93<<5|8, 0xd4000001)},
	// li a0, 42; li a7, 93 (exit); ecall
	"riscv64": {elf.EM_RISCV, le32(exitCode<<20|10<<7|0x13, 93<<20|17<<7|0x13, 0x73)},
}

func le32(ws ...uint32) []byte {
	b := make([]byte, 0, 4*len(ws))
	for _, w := range ws {
		b = binary.LittleEndian.AppendUint32(b, w)
	}
	return b
}

// probeProgram returns a static ELF executable for goarch whose only work is
// exit(42): one PT_LOAD segment holding the headers and the code.
func probeProgram(goarch string) ([]byte, error) {
	pc, ok := probeCode[goarch]
	if !ok {
		return nil, fmt.Errorf("no probe program for %s: choose the runtime with --runtime", goarch)
	}
	const base = 0x400000
	hdrSize := binary.Size(elf.Header64{}) + binary.Size(elf.Prog64{})
	size := uint64(hdrSize + len(pc.code))
	h := elf.Header64{
		Type:      uint16(elf.ET_EXEC),
		Machine:   uint16(pc.machine),
		Version:   uint32(elf.EV_CURRENT),
		Entry:     base + uint64(hdrSize),
		Phoff:     uint64(binary.Size(elf.Header64{})),
		Ehsize:    uint16(binary.Size(elf.Header64{})),
		Phentsize: uint16(binary.Size(elf.Prog64{})),
		Phnum:     1,
	}
	copy(h.Ident[:], elf.ELFMAG)
	h.Ident[elf.EI_CLASS] = byte(elf.ELFCLASS64)
	h.Ident[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	h.Ident[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	ph := elf.Prog64{
		Type:   uint32(elf.PT_LOAD),
		Flags:  uint32(elf.PF_R | elf.PF_X),
		Vaddr:  base,
		Paddr:  base,
		Filesz: size,
		Memsz:  size,
		Align:  0x10000,
	}
	var buf bytes.Buffer
	_ = binary.Write(&buf, binary.LittleEndian, h)
	_ = binary.Write(&buf, binary.LittleEndian, ph)
	buf.Write(pc.code)
	return buf.Bytes(), nil
}
