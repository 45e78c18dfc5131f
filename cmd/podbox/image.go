package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/podbox/podbox/image"
	"github.com/urfave/cli/v2"
)

func imageCommand() *cli.Command {
	return &cli.Command{
		Name:  "image",
		Usage: "manage images",
		Subcommands: []*cli.Command{
			imageInspectCommand(),
			imageLsRootfsCommand(),
			{Name: "pull", Usage: "same as podbox pull", ArgsUsage: "IMAGE…", Flags: pullFlags(), Action: pullAction},
			{Name: "ls", Aliases: []string{"list"}, Usage: "same as podbox images", Flags: imagesFlags(), Action: imagesAction},
			{Name: "rm", Usage: "same as podbox rmi", ArgsUsage: "IMAGE…", Flags: rmiFlags(), Action: rmiAction},
		},
	}
}

func imageInspectCommand() *cli.Command {
	return &cli.Command{
		Name:      "inspect",
		Usage:     "show an image's config, layers, digest and names as JSON",
		ArgsUsage: "IMAGE…",
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return errors.New("image inspect: name at least one image")
			}
			return withStore(c, func(s *image.Store) error {
				var out []*image.Inspect
				var errs []error
				for _, ref := range c.Args().Slice() {
					in, err := s.Inspect(ref)
					if err != nil {
						errs = append(errs, err)
						continue
					}
					out = append(out, in)
				}
				if len(out) > 0 {
					b, err := json.MarshalIndent(out, "", "    ")
					if err != nil {
						return err
					}
					fmt.Fprintln(c.App.Writer, string(b))
				}
				return errors.Join(errs...)
			})
		},
	}
}

// imageLsRootfsCommand lists a directory of an image's merged root file
// system: a test aid that shows whiteouts, owners and hard links as a
// container would see them.
func imageLsRootfsCommand() *cli.Command {
	return &cli.Command{
		Name:      "ls-rootfs",
		Hidden:    true,
		Usage:     "list DIR in the image's root file system: mode uid:gid inode size name",
		ArgsUsage: "IMAGE DIR",
		Action: func(c *cli.Context) error {
			if c.NArg() != 2 {
				return errors.New("image ls-rootfs: IMAGE DIR")
			}
			return withStore(c, func(s *image.Store) error {
				root, unmount, err := s.MountImage(c.Args().Get(0))
				if err != nil {
					return err
				}
				defer unmount()
				dir := filepath.Join(root, filepath.Clean("/"+c.Args().Get(1)))
				ents, err := os.ReadDir(dir)
				if err != nil {
					return err
				}
				for _, e := range ents {
					fi, err := e.Info()
					if err != nil {
						return err
					}
					st, _ := fi.Sys().(*syscall.Stat_t)
					if st == nil {
						continue
					}
					fmt.Fprintf(c.App.Writer, "%s %d:%d %d %d %s\n", fi.Mode(), st.Uid, st.Gid, st.Ino, fi.Size(), e.Name())
				}
				return nil
			})
		},
	}
}

// storeOptions are the global --root, --runroot and --storage-driver.
func storeOptions(c *cli.Context) image.StoreOptions {
	return image.StoreOptions{
		Root:    c.String("root"),
		RunRoot: c.String("runroot"),
		Driver:  c.String("storage-driver"),
	}
}

// withStore runs fn with the image store open, inside the user namespace.
func withStore(c *cli.Context, fn func(*image.Store) error) error {
	return inUserNS(func() error {
		s, err := image.OpenStore(storeOptions(c))
		if err != nil {
			return err
		}
		defer s.Shutdown()
		return fn(s)
	})
}
