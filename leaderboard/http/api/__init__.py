"""The JSON API of the server: one router per module, mounted under ``/api`` by the app."""
