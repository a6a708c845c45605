package main

import (
	"os"

	"github.com/ampledata/temporal-kit/backup/service"
)

// configureOffsite adds the off-site target when its settings are present.
func configureOffsite(svc *service.Service) error {
	s3, err := service.S3FromEnv(os.Getenv)
	if err != nil {
		return err
	}
	if s3 != nil {
		svc.Offsite = s3
	}
	return nil
}
