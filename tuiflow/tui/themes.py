"""The app's themes: a dark one (the default) and a light one; any Textual theme name works too."""

from __future__ import annotations

from textual.theme import Theme

DARK = Theme(
    name="tuiflow",
    primary="#5fafd7",
    secondary="#87afaf",
    accent="#d7af5f",
    warning="#d7af00",
    error="#d75f5f",
    success="#87af5f",
    foreground="#d0d0d0",
    background="#1c1c1c",
    surface="#262626",
    panel="#303030",
    dark=True,
)

LIGHT = Theme(
    name="tuiflow-light",
    primary="#005f87",
    secondary="#5f8787",
    accent="#875f00",
    warning="#875f00",
    error="#af0000",
    success="#005f00",
    foreground="#1c1c1c",
    background="#f5f5f0",
    surface="#ebebe4",
    panel="#dcdcd4",
    dark=False,
)

THEMES = (DARK, LIGHT)
