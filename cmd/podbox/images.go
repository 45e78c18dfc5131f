package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/docker/go-units"
	"github.com/podbox/podbox/image"
	"github.com/urfave/cli/v2"
)

func imagesCommand() *cli.Command {
	return &cli.Command{
		Name:   "images",
		Usage:  "list the images in podbox's store",
		Flags:  imagesFlags(),
		Action: imagesAction,
	}
}

func imagesFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "format", Usage: "table or json"},
		&cli.BoolFlag{Name: "digests", Usage: "show the manifest digests"},
		&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "print only the image IDs"},
		&cli.BoolFlag{Name: "no-trunc", Usage: "print whole image IDs"},
	}
}

func imagesAction(c *cli.Context) error {
	switch c.String("format") {
	case "", "table", "json":
	default:
		return fmt.Errorf("--format %q: use table or json", c.String("format"))
	}
	return withStore(c, func(s *image.Store) error {
		imgs, err := s.List()
		if err != nil {
			return err
		}
		w := c.App.Writer
		if c.String("format") == "json" {
			b, err := json.MarshalIndent(imgs, "", "    ")
			if err != nil {
				return err
			}
			fmt.Fprintln(w, string(b))
			return nil
		}
		id := func(img *image.Image) string {
			if c.Bool("no-trunc") {
				return "sha256:" + img.ID
			}
			return img.ID[:12]
		}
		if c.Bool("quiet") {
			for _, img := range imgs {
				fmt.Fprintln(w, id(img))
			}
			return nil
		}
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		head := "REPOSITORY\tTAG\t"
		if c.Bool("digests") {
			head += "DIGEST\t"
		}
		fmt.Fprintln(tw, head+"IMAGE ID\tCREATED\tSIZE")
		for _, img := range imgs {
			for _, rt := range repoTags(img.Names) {
				line := rt[0] + "\t" + rt[1] + "\t"
				if c.Bool("digests") {
					line += img.Digest + "\t"
				}
				fmt.Fprintf(tw, "%s%s\t%s\t%s\n", line, id(img), created(img.Created), units.HumanSizeWithPrecision(float64(img.Size), 3))
			}
		}
		return tw.Flush()
	})
}

// repoTags splits names into repository and tag; an image without a name,
// or one known only by digest, is <none>.
func repoTags(names []string) [][2]string {
	var out [][2]string
	for _, n := range names {
		if repo, _, ok := strings.Cut(n, "@"); ok {
			out = append(out, [2]string{repo, "<none>"})
			continue
		}
		i := strings.LastIndex(n, ":")
		if i < 0 || strings.Contains(n[i:], "/") {
			out = append(out, [2]string{n, "<none>"})
			continue
		}
		out = append(out, [2]string{n[:i], n[i+1:]})
	}
	if len(out) == 0 {
		out = append(out, [2]string{"<none>", "<none>"})
	}
	return out
}

func created(t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	return units.HumanDuration(time.Since(t)) + " ago"
}
