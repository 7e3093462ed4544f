"""Privacy: what is stored (`mydata what`), export by DM, erase with confirmation, retention."""

from cogs.privacy.cog import PrivacyCog

COG = PrivacyCog

__all__ = ["COG", "PrivacyCog"]
