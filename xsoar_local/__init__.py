"""The local host: runs the Sentinel integration as a SOAR platform would (see README.md here)."""
