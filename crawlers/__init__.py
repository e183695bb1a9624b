"""ghostcheck crawlers package."""
