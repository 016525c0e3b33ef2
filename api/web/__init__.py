"""The web pages people use: the profile form, public profiles, the moderator and ops consoles.

Served by the same Flask app from files in this package (templates/, static/): no CDN, no
build step; the scripts are plain ES modules that call the JSON API.
"""
