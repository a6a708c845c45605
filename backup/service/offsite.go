package service

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3 is an S3-compatible bucket (Hetzner Object Storage in prod) holding a
// copy of every backup under Prefix/<id>/.
type S3 struct {
	Endpoint, Bucket, Prefix string
	client                   *minio.Client
}

// S3 settings (the Definition sets them from backupOffsite; the keys are secret files).
const (
	EnvS3Endpoint  = "KIT_BACKUP_S3_ENDPOINT"
	EnvS3Bucket    = "KIT_BACKUP_S3_BUCKET"
	EnvS3Region    = "KIT_BACKUP_S3_REGION"
	EnvS3Prefix    = "KIT_BACKUP_S3_PREFIX"
	EnvS3Insecure  = "KIT_BACKUP_S3_INSECURE"
	EnvS3AccessKey = "KIT_BACKUP_S3_ACCESS_KEY_FILE"
	EnvS3SecretKey = "KIT_BACKUP_S3_SECRET_KEY_FILE"
)

// S3FromEnv returns the off-site target, or nil when none is configured.
func S3FromEnv(getenv func(string) string) (*S3, error) {
	endpoint := getenv(EnvS3Endpoint)
	if endpoint == "" {
		return nil, nil
	}
	key := func(env string) (string, error) {
		f := getenv(env)
		if f == "" {
			return "", fmt.Errorf("%s is not set; the off-site copy (stack config backupOffsite) needs backupOffsiteAccessKey and backupOffsiteSecretKey", env)
		}
		b, err := os.ReadFile(f)
		if err != nil {
			return "", fmt.Errorf("%s: %w", env, err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	ak, err := key(EnvS3AccessKey)
	if err != nil {
		return nil, err
	}
	sk, err := key(EnvS3SecretKey)
	if err != nil {
		return nil, err
	}
	insecure, _ := strconv.ParseBool(getenv(EnvS3Insecure))
	c, err := minio.New(endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(ak, sk, ""),
		Secure: !insecure,
		Region: getenv(EnvS3Region),
	})
	if err != nil {
		return nil, fmt.Errorf("off-site endpoint %q (stack config backupOffsite.endpoint): %w", endpoint, err)
	}
	return &S3{Endpoint: endpoint, Bucket: getenv(EnvS3Bucket), Prefix: strings.Trim(getenv(EnvS3Prefix), "/"), client: c}, nil
}

func (s *S3) Name() string { return "s3://" + s.Bucket + "/" + s.Prefix + " at " + s.Endpoint }

func (s *S3) key(parts ...string) string {
	if s.Prefix != "" {
		parts = append([]string{s.Prefix}, parts...)
	}
	return path.Join(parts...)
}

// Upload copies the backup's files; the manifest goes last, so a backup
// without its manifest off-site is an incomplete one.
func (s *S3) Upload(ctx context.Context, id, dir string, files []string) error {
	var manifestLast []string
	for _, f := range files {
		if f != "manifest.json" {
			manifestLast = append(manifestLast, f)
		}
	}
	manifestLast = append(manifestLast, "manifest.json")
	ok, err := s.client.BucketExists(ctx, s.Bucket)
	if err != nil {
		return fmt.Errorf("bucket %s: %w", s.Bucket, err)
	}
	if !ok {
		if err := s.client.MakeBucket(ctx, s.Bucket, minio.MakeBucketOptions{}); err != nil {
			return fmt.Errorf("bucket %s does not exist and cannot be created (%w); create it in the storage's console", s.Bucket, err)
		}
	}
	for _, f := range manifestLast {
		// Content-MD5: a bucket with object lock refuses uploads without it.
		if _, err := s.client.FPutObject(ctx, s.Bucket, s.key(id, f), filepath.Join(dir, f), minio.PutObjectOptions{ContentType: "application/octet-stream", SendContentMd5: true}); err != nil {
			return fmt.Errorf("upload %s/%s: %w", id, f, err)
		}
	}
	return nil
}

// List returns the backup ids found off-site.
func (s *S3) List(ctx context.Context) ([]string, error) {
	prefix := s.key() + "/"
	if s.Prefix == "" {
		prefix = ""
	}
	var ids []string
	for obj := range s.client.ListObjects(ctx, s.Bucket, minio.ListObjectsOptions{Prefix: prefix}) {
		if obj.Err != nil {
			return nil, obj.Err
		}
		ids = append(ids, strings.TrimSuffix(strings.TrimPrefix(obj.Key, prefix), "/"))
	}
	return ids, nil
}

// ErrDeleteDenied is a delete the bucket refused: the host's key may write
// but not delete, and the bucket's own rules (lifecycle, object lock)
// expire old copies.
var ErrDeleteDenied = errors.New("the off-site key may not delete")

// Delete removes a backup's files, the manifest first: a backup whose
// deletion stops midway is an incomplete one, never one that looks whole.
func (s *S3) Delete(ctx context.Context, id string) error {
	var keys []string
	for obj := range s.client.ListObjects(ctx, s.Bucket, minio.ListObjectsOptions{Prefix: s.key(id) + "/", Recursive: true}) {
		if obj.Err != nil {
			return obj.Err
		}
		keys = append(keys, obj.Key)
	}
	sort.SliceStable(keys, func(i, j int) bool {
		return path.Base(keys[i]) == "manifest.json" && path.Base(keys[j]) != "manifest.json"
	})
	for _, k := range keys {
		if err := s.client.RemoveObject(ctx, s.Bucket, k, minio.RemoveObjectOptions{}); err != nil {
			if minio.ToErrorResponse(err).Code == "AccessDenied" {
				return fmt.Errorf("%w (%s): %v", ErrDeleteDenied, k, err)
			}
			return err
		}
	}
	return nil
}

// Download fetches a backup into dir/<id> (restore from off-site).
func (s *S3) Download(ctx context.Context, id, dir string) error {
	dst := filepath.Join(dir, id)
	if err := os.MkdirAll(dst, 0o700); err != nil {
		return err
	}
	n := 0
	for obj := range s.client.ListObjects(ctx, s.Bucket, minio.ListObjectsOptions{Prefix: s.key(id) + "/", Recursive: true}) {
		if obj.Err != nil {
			return obj.Err
		}
		name := path.Base(obj.Key)
		if err := s.client.FGetObject(ctx, s.Bucket, obj.Key, filepath.Join(dst, name), minio.GetObjectOptions{}); err != nil {
			return fmt.Errorf("download %s: %w", obj.Key, err)
		}
		n++
	}
	if n == 0 {
		return fmt.Errorf("no backup %s in %s", id, s.Name())
	}
	return nil
}
