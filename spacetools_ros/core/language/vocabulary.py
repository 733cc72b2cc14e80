"""The closed word classes of commands and object descriptions: shapes, sizes, order words, verbs, filler."""

from __future__ import annotations

# shape -> nouns for it (plurals are derived)
SHAPE_WORDS: dict[str, list[str]] = {
    "box": ["box", "block", "cube", "brick", "crate", "cuboid", "lego", "die", "dice", "carton"],
    "cylinder": ["cylinder", "can", "tin", "bottle", "cup", "mug", "tube", "jar", "canister", "glass", "beaker",
                 "tumbler", "teacup", "soda"],
    "sphere": ["ball", "sphere", "orb", "globe", "marble", "football", "basketball", "baseball", "softball",
               "volleyball"],
    "bowl": ["bowl", "basin", "pot"],
    "plate": ["plate", "dish", "saucer", "platter", "tray", "disc", "disk", "coaster"],
}
IRREGULAR_PLURALS = {"dice": "die", "glasses": "glass", "boxes": "box", "dishes": "dish"}
GENERIC_WORDS = ("object", "thing", "item", "one", "toy", "piece", "shape", "stuff")
PRONOUNS = {"it": False, "them": True, "they": True, "this": False, "these": True}
DETERMINERS = ("the", "a", "an", "this", "that", "these", "those", "some", "any", "my", "our", "your")
QUANTIFIERS = ("all", "every", "each", "both", "two", "three", "four", "five", "several", "many", "multiple")
# relative-clause and participle words that add nothing to what an object is
CLAUSE_WORDS = ("that", "which", "who", "that is", "which is", "who is", "that are", "which are", "that sits",
                "which sits", "that stands", "which stands", "that lies", "which lies", "that rests", "which rests",
                "that is sitting", "which is sitting", "that is standing", "which is standing", "that is lying",
                "that is located", "which is located", "that is placed", "which is placed", "that is currently",
                "which is currently", "located", "sitting", "standing", "lying", "placed", "positioned", "resting",
                "currently", "that is positioned", "which is positioned", "that you see", "you see", "there")
SIZE_WORDS = {"big": "big", "large": "big", "huge": "big", "giant": "big",
              "small": "small", "little": "small", "tiny": "small", "mini": "small"}
# superlative word -> key; the key's axis and direction are in SUPERLATIVE_AXES
SUPERLATIVES = {
    "leftmost": "leftmost", "rightmost": "rightmost", "left": "leftmost", "right": "rightmost",
    "frontmost": "frontmost", "front": "frontmost", "foremost": "frontmost", "backmost": "backmost",
    "back": "backmost", "rear": "backmost", "rearmost": "backmost", "hindmost": "backmost",
    "nearest": "nearest", "closest": "nearest", "farthest": "farthest", "furthest": "farthest",
    "largest": "largest", "biggest": "largest", "smallest": "smallest", "tiniest": "smallest",
    "tallest": "tallest", "shortest": "shortest", "highest": "tallest", "lowest": "shortest",
    "middle": "middle", "center": "middle", "centre": "middle", "central": "middle",
    # comparatives and height adjectives: among look-alikes, the one that is more so
    "tall": "tallest", "short": "shortest",
    "bigger": "largest", "larger": "largest", "smaller": "smallest", "taller": "tallest", "shorter": "shortest",
    "higher": "tallest", "lower": "shortest", "nearer": "nearest", "closer": "nearest", "farther": "farthest",
    "further": "farthest",
}
NEARNESS = ("nearest", "farthest")  # superlative keys that become a relation before an object
SUPERLATIVE_AXES = {  # key -> (axis, "min" | "max")
    "leftmost": ("lateral", "min"), "rightmost": ("lateral", "max"), "frontmost": ("depth", "min"),
    "backmost": ("depth", "max"), "nearest": ("near", "min"), "farthest": ("near", "max"),
    "largest": ("size", "max"), "smallest": ("size", "min"), "tallest": ("height", "max"),
    "shortest": ("height", "min"), "middle": ("lateral", "median"),
    "robot_closest": ("robot", "min"), "robot_farthest": ("robot", "max"),
}
# "on the left", "at the back", "in the middle": a side of the scene, i.e. a superlative
SIDES: dict[str, str] = {}
for _word, _key in (("left", "leftmost"), ("right", "rightmost"), ("front", "frontmost"), ("back", "backmost"),
                    ("rear", "backmost"), ("far left", "leftmost"), ("far right", "rightmost"),
                    ("left hand side", "leftmost"), ("right hand side", "rightmost"), ("left side", "leftmost"),
                    ("right side", "rightmost"), ("front side", "frontmost"), ("back side", "backmost")):
    for _prep in ("on the", "to the", "at the", "in the", "the", "towards the", "toward the"):
        SIDES[f"{_prep} {_word}"] = _key
    if " " in _word:
        SIDES[_word] = _key
for _adv in ("furthest", "farthest", "most", "the furthest", "the farthest", "the most"):  # "furthest to the right"
    for _word, _key in (("left", "leftmost"), ("right", "rightmost"), ("front", "frontmost"), ("back", "backmost")):
        SIDES[f"{_adv} to the {_word}"] = _key
        SIDES[f"{_adv} {_word}"] = _key
        SIDES[f"{_adv} on the {_word}"] = _key
SIDES.update({"in front": "frontmost", "in the middle": "middle", "in the center": "middle",
              "in the centre": "middle", "at the center": "middle", "at the centre": "middle"})
ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
            "ninth": 9, "tenth": 10, "last": -1}
ORDER_DIRECTIONS = {"left": "left", "right": "right", "front": "front", "back": "back", "rear": "back",
                    "the left": "left", "the right": "right", "the front": "front", "the back": "back",
                    "the rear": "back", "left to right": "left", "right to left": "right"}
ROBOT_WORDS = ("robot", "the robot", "you", "yourself", "robot base", "the robot base", "the base", "base",
               "robot arm", "the robot arm", "the arm", "arm", "gripper", "the gripper", "the robot s base")
VIEWER_WORDS = ("me", "the camera", "camera", "the viewer", "viewer", "us")
SCENE_WORDS = ("table", "the table", "tabletop", "the tabletop", "image", "the image", "picture", "the picture",
               "workspace", "the workspace", "scene", "the scene", "view", "the view", "photo", "the photo",
               "frame", "the frame")
# verbs of moving something somewhere (base form); their -ing forms are derived
VERBS = ("put", "place", "move", "set", "drop", "stick", "toss", "pop", "shift", "slide", "transfer", "bring",
         "stack", "pick", "grab", "take", "lift", "get", "carry", "lay", "position", "relocate", "deposit",
         "insert", "load", "drag", "leave", "dump", "plop", "rest", "park", "lower", "nudge", "return",
         "reposition", "tuck", "stow", "store", "fetch", "hand", "throw", "pile", "push", "shove", "stand",
         "settle", "land", "plonk", "chuck", "bung", "fit", "lodge", "arrange", "situate", "install", "seat")
_ING = {"put": "putting", "set": "setting", "drop": "dropping", "pop": "popping", "get": "getting",
        "plop": "plopping", "stack": "stacking", "slide": "sliding", "place": "placing", "move": "moving",
        "relocate": "relocating", "leave": "leaving", "take": "taking", "return": "returning",
        "transfer": "transferring", "store": "storing", "settle": "settling", "shove": "shoving",
        "situate": "situating", "arrange": "arranging", "position": "positioning", "lodge": "lodging",
        "plonk": "plonking", "bung": "bunging", "fit": "fitting", "reposition": "repositioning",
        "tuck": "tucking", "stow": "stowing", "seat": "seating"}
VERB_FORMS = {v: v for v in VERBS}
VERB_FORMS.update({_ING.get(v, v + "ing"): v for v in VERBS})
# the verb's particle: "pick up", "set down", "put back"
PARTICLES = ("up", "down", "back", "away", "over", "aside", "across", "along", "off")
# between the object and where it goes: "should go", "so that it is", "a bit"
LINKERS = ("so that it is", "so it is", "so that it", "so it", "so that they are", "so they are",
           "so that it ends up", "so it ends up", "so that it sits", "so it sits", "so that it will be",
           "so it will be", "such that it is", "so that it lands", "so it lands", "so that it rests",
           "should go", "should be", "should end up", "should sit", "should land", "should rest",
           "needs to go", "needs to be", "need to go", "need to be", "has to go", "has to be", "have to go",
           "must go", "must be", "ought to go", "ought to be", "is to go", "is going to go", "will go", "can go",
           "could go", "would go", "goes", "go", "belongs", "belong", "ends up", "end up", "to be", "to go",
           "to end up", "to sit", "to land", "to rest", "is supposed to go", "should be put", "should be placed",
           "to be put", "to be placed", "slightly", "a bit", "a little bit", "just", "right", "directly",
           "somewhere", "exactly", "precisely", "neatly", "gently", "carefully")
# politeness and framing at the start or the end of a request
POLITE = ("please", "kindly", "pls", "plz", "could you", "would you", "can you", "will you", "could you please",
          "would you please", "can you please", "will you please", "would you mind", "would you kindly",
          "could you kindly", "do you mind", "would you be so kind as to", "be so kind as to",
          "i would like you to", "i want you to", "i need you to", "i would like", "i want", "i need",
          "i would love it if you could", "i would love you to", "i would appreciate it if you could",
          "i would appreciate it if you would", "i would be grateful if you could", "i wish", "i would prefer",
          "go ahead and", "let us", "now", "ok", "okay", "alright", "all right", "hey", "hi", "hello", "robot",
          "hey robot", "hi robot", "dear robot", "ok robot", "okay robot", "so", "um", "uh", "well",
          "try to", "please try to", "make sure", "make sure that", "you can", "you could", "you should",
          "you need to", "you may", "time to", "help me", "for me", "thanks", "thank you", "thank you very much",
          "thanks a lot", "cheers", "if you can", "if you could", "if possible", "if you do not mind",
          "if you would", "when you can", "when you get a chance", "right now", "quickly", "slowly", "gently",
          "carefully", "just", "do me a favour and", "do me a favor and", "if that is ok", "real quick",
          "and")
# filler that may stand anywhere
IGNORABLE = ("please", "kindly", "pls", "plz", "just", "gently", "carefully")
