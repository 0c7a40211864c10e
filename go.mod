module github.com/janus-desktop/janus

go 1.26.8

require (
	github.com/disintegration/imaging v1.6.2
	github.com/dlclark/regexp2/v2 v2.13.0
	golang.org/x/image v0.48.0
	golang.org/x/sys v0.50.0
	golang.org/x/text v0.44.0
)

require github.com/ebitengine/purego v0.11.3
