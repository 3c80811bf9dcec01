"""The explorer: a browser page at /explore over the public API (map, timeline, list, event
pages with their claims), served from the package with its libraries vendored from npm."""
