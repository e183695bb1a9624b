"""ghostcheck flows package."""
