"""Real-browser tests: Debian's Chromium driven by Playwright (pytest marker ``browser``)."""
