"""The demo world of `ghostcheck demo`: a seeded synthetic market served on 127.0.0.1, with its truth."""
