"""Robot description (URDF) text edits that launch files need, without a ROS install."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable


def without_links(urdf_xml: str, links: Iterable[str]) -> str:
    """The URDF with the named leaf links and the joints that attach them removed.

    Used when another node publishes a link's pose (the sim node's camera optical frame from its
    scene): robot_state_publisher must not publish the same frame with a parent of its own.

    Raises:
        ValueError: text that is not a URDF, or a named link that is not a leaf (something hangs on it).
    """
    try:
        root = ET.fromstring(urdf_xml)
    except ET.ParseError as exc:
        raise ValueError(f"not a URDF: {exc}") from None
    if root.tag != "robot":
        raise ValueError(f"not a URDF: the root element is <{root.tag}>, not <robot>")
    drop = set(links)
    for joint in root.findall("joint"):
        parent = joint.find("parent")
        if parent is not None and parent.get("link") in drop:
            raise ValueError(f"link {parent.get('link')!r} is not a leaf: joint {joint.get('name')!r} hangs on it")
    for element in list(root):
        child = element.find("child") if element.tag == "joint" else None
        if (element.tag == "link" and element.get("name") in drop) or \
                (child is not None and child.get("link") in drop):
            root.remove(element)
    return ET.tostring(root, encoding="unicode")
