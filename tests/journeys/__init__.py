"""Real-browser journeys: Debian's chromium, driven by Playwright, against a real server process.

Not a Django app: the tests here talk to the application only over HTTP and SMTP, as its users
and its mail server do. See docs/journeys.md.
"""
