package configsource

import "testing"

// TestParseS3 checks the S3 URI forms.
func TestParseS3(t *testing.T) {
	for _, tc := range []struct{ uri, bucket, key, region, err string }{
		{"s3://my-bucket.s3.us-east-1.amazonaws.com/collector.yaml", "my-bucket", "collector.yaml", "us-east-1", ""},
		{"s3://my-bucket.s3.eu-west-1.amazonaws.com/dir/c.yaml", "my-bucket", "dir/c.yaml", "eu-west-1", ""},
		{"s3://my-bucket.s3.amazonaws.com/c.yaml", "my-bucket", "c.yaml", "", ""},
		{"s3://my-bucket/dir/c.yaml", "my-bucket", "dir/c.yaml", "", ""},
		{"s3:my-bucket/c.yaml", "my-bucket", "c.yaml", "", ""},
		{"s3://my-bucket", "", "", "", "use s3://BUCKET.s3.REGION.amazonaws.com/KEY or s3://BUCKET/KEY"},
	} {
		b, k, r, err := ParseS3(tc.uri)
		if tc.err != "" {
			if err == nil {
				t.Errorf("%s: no error", tc.uri)
			}
			continue
		}
		if err != nil || b != tc.bucket || k != tc.key || r != tc.region {
			t.Errorf("ParseS3(%q) = %q, %q, %q, %v; want %q, %q, %q", tc.uri, b, k, r, err, tc.bucket, tc.key, tc.region)
		}
	}
	for uri, want := range map[string]bool{"s3://b/k": true, "HTTPS://x/c.yaml": true, "http://x": true, "/var/task/c.yaml": false, "file:/c.yaml": false} {
		if IsRemote(uri) != want {
			t.Errorf("IsRemote(%q) = %v", uri, !want)
		}
	}
}
