"""Turning reports into Rich tables (`tables`), JSON documents and CSV (`document`)."""
