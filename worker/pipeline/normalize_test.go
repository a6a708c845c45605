package pipeline_test

import "github.com/ampledata/temporal-kit/worker/extract"

// normalize makes nil and empty lists equal: the store writes [] for both.
func normalize(f extract.Fields) extract.Fields {
	if f.Emails == nil {
		f.Emails = []extract.Found{}
	}
	if f.Phones == nil {
		f.Phones = []extract.Found{}
	}
	if f.Socials == nil {
		f.Socials = []extract.Social{}
	}
	return f
}
