"""Logging in: the configured token, else the saved session, else the password.

The device id is kept across logins, so the crypto store next to it stays valid.
"""

from __future__ import annotations

import logging

from nio import AsyncClient, LoginResponse, WhoamiResponse

from bot.adapters.matrix.state import Session, StateStore
from bot.config import MatrixConfig
from bot.platform import StartupError

log = logging.getLogger("circlebot.matrix")


async def login(client: AsyncClient, cfg: MatrixConfig, state: StateStore) -> None:
    """Token from config, else the saved session, else the password (same device id).

    Raises:
        StartupError: the token was not accepted, or the password login failed.
    """
    saved = await state.load_session()
    if saved is not None and saved.user_id != cfg.user_id:
        saved = None
    token = cfg.resolved_token()
    if token:
        device_id = cfg.device_id or (
            saved.device_id if saved and saved.access_token == token else ""
        )
        client.access_token = token  # whoami needs it before restore_login
        if not device_id:
            who = await client.whoami()
            if not isinstance(who, WhoamiResponse) or not who.device_id:
                raise StartupError(f"matrix.access_token was not accepted: {who}")
            device_id = who.device_id
        client.restore_login(cfg.user_id, device_id, token)
        await state.save_session(Session(cfg.user_id, device_id, token))
        log.info("logged in to Matrix with an access token (device %s)", device_id)
        return
    if saved is not None:
        client.restore_login(saved.user_id, saved.device_id, saved.access_token)
        if isinstance(await client.whoami(), WhoamiResponse):
            log.info("reusing the saved Matrix session (device %s)", saved.device_id)
            return
        log.warning("the saved Matrix session is no longer valid; logging in again")
        client.access_token = ""
    client.device_id = cfg.device_id or (saved.device_id if saved else None)
    response = await client.login(
        cfg.resolved_password(), device_name=cfg.device_name or "circlebot"
    )
    if not isinstance(response, LoginResponse):
        raise StartupError(
            f"Matrix login as {cfg.user_id} failed: {getattr(response, 'message', response)}"
        )
    await state.save_session(Session(response.user_id, response.device_id, response.access_token))
    log.info("logged in to Matrix with a password (device %s)", response.device_id)
