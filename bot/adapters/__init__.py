"""Platform adapters. Only bot/adapters/discord imports discord; only bot/adapters/matrix, nio.

Each implements `bot.platform.Platform`; what each can do is in its `capabilities`.
"""
