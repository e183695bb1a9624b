"""ghostcheck warehouse package."""
