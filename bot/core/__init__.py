"""The platform-neutral core: nothing in here knows about Discord or Matrix."""
