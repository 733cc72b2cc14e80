"""Colour words as CIELAB colours, and how well a measured colour fits a word (CIE94 distance)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

# The base palette: words the perception names directly (``describe.color_name``), with the sRGB
# (0..255) of the scene palette so that "light blue" or "dark green" can be computed from them.
BASE_COLORS: dict[str, tuple[int, int, int]] = {
    "red": (217, 31, 26), "green": (38, 166, 51), "blue": (31, 77, 217), "yellow": (242, 217, 26),
    "orange": (250, 128, 13), "purple": (128, 46, 166), "white": (242, 242, 242), "black": (15, 15, 15),
    "gray": (128, 128, 128), "brown": (128, 77, 31), "pink": (250, 140, 191), "cyan": (26, 204, 217),
}
# Words that name a base colour outright.
BASE_SYNONYMS: dict[str, str] = {
    "grey": "gray", "wooden": "brown", "reddish": "red", "greenish": "green", "bluish": "blue", "blueish": "blue",
    "yellowish": "yellow", "orangey": "orange", "orangish": "orange", "purplish": "purple", "whitish": "white",
    "blackish": "black", "grayish": "gray", "greyish": "gray", "brownish": "brown", "pinkish": "pink",
}
# Off-palette colour words, sRGB 0..255: the CSS/X11 value where the name is a CSS colour (except
# azure, whose CSS value is nearly white, and dark gray, which CSS makes lighter than gray), the
# common paint value otherwise. Other "light"/"dark"/... phrases come from MODIFIERS.
NAMED_COLORS: dict[str, tuple[int, int, int]] = {
    "teal": (0, 128, 128), "olive": (128, 128, 0), "navy": (0, 0, 128), "maroon": (128, 0, 0),
    "beige": (245, 245, 220), "lavender": (230, 230, 250), "turquoise": (64, 224, 208), "magenta": (255, 0, 255),
    "fuchsia": (255, 0, 255), "gold": (255, 215, 0), "golden": (255, 215, 0), "salmon": (250, 128, 114),
    "coral": (255, 127, 80), "khaki": (240, 230, 140), "indigo": (75, 0, 130), "mint": (152, 255, 152),
    "crimson": (220, 20, 60), "scarlet": (255, 36, 0), "vermilion": (227, 66, 52), "ruby": (224, 17, 95),
    "burgundy": (128, 0, 32), "cherry": (222, 49, 99), "rose": (255, 0, 127), "lime": (0, 255, 0),
    "azure": (0, 127, 255), "violet": (238, 130, 238), "lilac": (200, 162, 200), "amber": (255, 191, 0),
    "ivory": (255, 255, 240), "silver": (192, 192, 192), "tan": (210, 180, 140), "chocolate": (210, 105, 30),
    "charcoal": (54, 69, 79), "cream": (255, 253, 208), "peach": (255, 218, 185), "plum": (221, 160, 221),
    "orchid": (218, 112, 214), "mauve": (224, 176, 255), "emerald": (80, 200, 120), "jade": (0, 168, 107),
    "sapphire": (15, 82, 186), "cobalt": (0, 71, 171), "cerulean": (0, 123, 167), "aqua": (0, 255, 255),
    "aquamarine": (127, 255, 212), "ochre": (204, 119, 34), "mustard": (225, 173, 1), "lemon": (255, 247, 0),
    "copper": (184, 115, 51), "bronze": (205, 127, 50), "rust": (183, 65, 14), "tangerine": (242, 133, 0),
    "apricot": (251, 206, 177), "periwinkle": (204, 204, 255), "slate": (112, 128, 144),
    "forest green": (34, 139, 34), "sea green": (46, 139, 87), "hot pink": (255, 105, 180),
    "baby blue": (137, 207, 240), "royal blue": (65, 105, 225), "sky blue": (135, 206, 235),
    "steel blue": (70, 130, 180), "navy blue": (0, 0, 128), "lime green": (50, 205, 50),
    "mint green": (152, 255, 152), "olive green": (107, 142, 35), "blood red": (138, 3, 3),
    "light blue": (173, 216, 230), "dark blue": (0, 0, 139), "light green": (144, 238, 144),
    "dark green": (0, 100, 0), "dark red": (139, 0, 0), "light pink": (255, 182, 193), "dark orange": (255, 140, 0),
    "light gray": (211, 211, 211), "light grey": (211, 211, 211), "dark gray": (64, 64, 64),
    "dark grey": (64, 64, 64), "light yellow": (255, 255, 224), "dark cyan": (0, 139, 139),
    "light brown": (181, 101, 29), "dark brown": (101, 67, 33), "light purple": (203, 160, 220),
    "dark purple": (72, 25, 90),
}
# Second referents, sRGB 0..255: where the value people give a word in large colour-naming surveys
# (the xkcd colour survey) lies beyond FIT_MAX of the value above, the word means either. CSS
# "lavender" and "periwinkle" are nearly white, CSS "violet" and "plum" are pale pinks and CSS
# "chocolate" is orange, while speakers mean a light purple, a blue-violet, a purple, a dark purple
# and a dark brown.
SURVEY_COLORS: dict[str, tuple[int, int, int]] = {
    "lavender": (199, 159, 239), "violet": (154, 14, 234), "plum": (88, 15, 65), "mauve": (174, 113, 129),
    "periwinkle": (142, 130, 254), "lilac": (206, 162, 253), "navy": (1, 21, 62), "magenta": (194, 0, 120),
    "lime": (170, 255, 50), "rose": (207, 98, 117), "chocolate": (61, 28, 2),
}
# Modifiers: (lightness change, chroma factor) in CIELAB.
MODIFIERS: dict[str, tuple[float, float]] = {
    "light": (18.0, 0.75), "pale": (25.0, 0.45), "dark": (-25.0, 0.9), "deep": (-18.0, 1.1),
    "bright": (6.0, 1.25), "vivid": (0.0, 1.3), "dull": (0.0, 0.6), "muted": (0.0, 0.6),
}
# A word fits a measured colour when the CIELAB distance, lightness weighted 1/2 (shading changes
# lightness far more than hue), is at most FIT_MAX; a chromatic word (chroma >= CHROMATIC) also needs
# a colourful object (chroma >= MIN_CHROMA) of a hue within MAX_HUE_DEG.
FIT_MAX = 28.0
CHROMATIC = 20.0
MIN_CHROMA = 10.0
MAX_HUE_DEG = 45.0
# Two objects fit a word equally well when their distances differ by less than this.
FIT_TIE = 4.0

_WHITE = np.array([0.95047, 1.0, 1.08883])


def srgb_to_lab(rgb: np.ndarray | tuple[float, float, float]) -> np.ndarray:
    """CIELAB (D65) of sRGB values in 0..255, shape (..., 3)."""
    c = np.asarray(rgb, dtype=float) / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    m = np.array([[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750],
                  [0.0193339, 0.1191920, 0.9503041]])
    xyz = lin @ m.T / _WHITE
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


def delta_e(lab_word: np.ndarray, lab_seen: np.ndarray, lightness_weight: float = 0.5) -> float:
    """Distance of a seen colour from a word's colour: CIELAB with lightness weighted
    ``lightness_weight``, or ``inf`` when a chromatic word meets a grey object or a far hue."""
    l1, a1, b1 = (float(v) for v in lab_word)
    l2, a2, b2 = (float(v) for v in lab_seen)
    c1, c2 = float(np.hypot(a1, b1)), float(np.hypot(a2, b2))
    if c1 >= CHROMATIC:
        if c2 < MIN_CHROMA:
            return float("inf")
        dh = abs(np.degrees(np.arctan2(b1, a1) - np.arctan2(b2, a2))) % 360.0
        if min(dh, 360.0 - dh) > MAX_HUE_DEG:
            return float("inf")
    return float(np.sqrt((lightness_weight * (l1 - l2)) ** 2 + (a1 - a2) ** 2 + (b1 - b2) ** 2))


def is_color_phrase(phrase: str) -> bool:
    """Whether a phrase ("teal", "light blue") names a colour this module can compute."""
    try:
        phrase_labs(phrase)
    except KeyError:
        return False
    return True


@lru_cache(maxsize=256)
def _phrase_labs(phrase: str) -> tuple[tuple[float, float, float], ...]:
    words = phrase.split()
    mods = []
    while len(words) > 1 and words[0] in MODIFIERS and " ".join(words) not in NAMED_COLORS:
        mods.append(words.pop(0))
    name = " ".join(words)
    name = BASE_SYNONYMS.get(name, name)
    rgb = NAMED_COLORS.get(name) or BASE_COLORS.get(name)
    if rgb is None:
        raise KeyError(phrase)
    labs = []
    for referent in (rgb, SURVEY_COLORS.get(name)):
        if referent is None:
            continue
        lab = srgb_to_lab(referent)
        for m in mods:
            dl, k = MODIFIERS[m]
            lab = np.array([float(np.clip(lab[0] + dl, 5.0, 97.0)), lab[1] * k, lab[2] * k])
        labs.append((float(lab[0]), float(lab[1]), float(lab[2])))
    return tuple(labs)


def phrase_labs(phrase: str) -> list[np.ndarray]:
    """CIELAB of each referent of a colour phrase (a named colour or base word, optionally after
    modifiers): one, or two where people and CSS give the word different colours.

    Raises:
        KeyError: the phrase names no known colour.
    """
    return [np.array(lab) for lab in _phrase_labs(" ".join(phrase.lower().split()))]


def color_fit(phrase: str, rgb: np.ndarray | tuple[float, float, float], lightness_weight: float = 0.5) -> float:
    """Distance of a measured colour (sRGB 0..255) from the nearest referent of a colour phrase;
    fits when <= FIT_MAX."""
    seen = srgb_to_lab(rgb)
    return min(delta_e(lab, seen, lightness_weight) for lab in phrase_labs(phrase))


# the light's range over the table: a pale paint in a dim corner with the light behind it is seen at
# under half its brightness
SHADE_SCALES = tuple(float(k) for k in np.geomspace(0.55, 2.5, 17))
DIM_SCALES = tuple(k for k in SHADE_SCALES if k >= 1.0)  # ... those that brighten what was seen
# A paint seen in dim light fits a word when the measured colour, brightened (never darkened: a bright
# blue block is no navy one), comes this close to it (``dim_fit``). Paints people give a word lie some
# way from its referent (a mint (153, 255, 178) is 13 from "mint" in full light) and a dim reading
# brightened carries its quantisation: a mint can seen at 0.45 of its brightness reads 45 from
# "mint" as measured and about 14 brightened
DIM_FIT_MAX = 20.0


def _relit_fit(phrase: str, rgb: np.ndarray | tuple[float, float, float], scales: tuple[float, ...]) -> float:
    # not clipped at 255: a paint in more light than the camera's range is still that paint (the
    # CIELAB formulas extend past white)
    c = np.asarray(rgb, dtype=float)
    return min(color_fit(phrase, np.maximum(c * k, 0.0), 1.0) for k in scales)


def shade_fit(phrase: str, rgb: np.ndarray | tuple[float, float, float]) -> float:
    """Distance of the phrase from the same paint under the light that suits it best (the measured
    colour scaled in brightness over SHADE_SCALES), lightness weighted in full since the light has
    been accounted for: a pale paint is then told from a saturated one of the same hue, which
    ``color_fit`` (lightness weighted 1/2) takes alike. A mint can (124, 195, 142) and a green one
    (33, 135, 43) fit "mint" 28 and 21 as measured, 18 and 28 relit; a dim khaki block (159, 144, 94)
    and a yellow one (175, 157, 18) fit "khaki" 23 and 24 as measured, 6 and 32 relit."""
    return _relit_fit(phrase, rgb, SHADE_SCALES)


def dim_fit(phrase: str, rgb: np.ndarray | tuple[float, float, float]) -> float:
    """``shade_fit`` over DIM_SCALES only: the same paint seen in less light than the word's colour;
    a paint seen brighter than the camera's range (a channel over 255: the pixels were clipped) also
    as if seen at that range's top (an over-lit mint ball (184, 306, 215) is mint (152, 255, 179))."""
    top = float(np.max(rgb))
    return _relit_fit(phrase, rgb, DIM_SCALES if top <= 255.0 else (255.0 / top, *DIM_SCALES))


def tint_fits(phrase: str, rgb: np.ndarray | tuple[float, float, float],
              paint_rgb: np.ndarray | tuple[float, float, float] | None = None) -> bool:
    """Whether a colour phrase can name an object of this measured colour: as measured (within
    FIT_MAX) or as its paint seen in dim light (within DIM_FIT_MAX). ``paint_rgb``: the paint's hue
    at the brightness seen, where the measured colour may have lost it (clipped at 255), for the
    second test."""
    return color_fit(phrase, rgb) <= FIT_MAX or dim_fit(phrase, rgb if paint_rgb is None else paint_rgb) <= DIM_FIT_MAX
