module feigo

go 1.26.0

require (
	github.com/google/uuid v1.6.0
	golang.org/x/sys v0.49.0
	golang.org/x/text v0.43.0
)
