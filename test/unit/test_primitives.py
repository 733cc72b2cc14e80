"""The grasp/place primitives' own decisions, on a fake motion backend (no physics): when a place
counts as released."""

import numpy as np
import pytest

from spacetools_ros.backends.motion.base import MotionBackend, MotionStep
from spacetools_ros.core.geometry import Pose
from spacetools_ros.core.manipulation import Manipulator
from spacetools_ros.core.planning_scene import AttachedObject, PlanningScene
from spacetools_ros.core.shapes import Primitive


class FakeMotion:
    """MotionBackend that reaches every pose at once; the fingers open to ``open_to`` at most."""

    def __init__(self, grip_m: float, open_to: float) -> None:
        self.width, self.open_to, self.scene, self.t = grip_m, open_to, PlanningScene(), 0.0
        self.tcp = Pose(np.array([0.5, 0.0, 0.3]), np.diag([1.0, -1.0, -1.0]))

    def set_planning_scene(self, scene):
        self.scene = scene

    def planning_scene(self):
        return self.scene

    def current_joints(self):
        return np.zeros(7)

    def tcp_pose(self, q=None):
        return self.tcp

    def gripper_width(self):
        return self.width

    def ik(self, pose, *, allowed=frozenset(), finger_width_m=None):
        return np.zeros(7)

    def move_joints(self, q_goal, *, allowed=frozenset(), speed_scale=1.0):
        self.t += 1.0
        return MotionStep(0.0, 1.0, 1.0)

    def move_linear(self, goal, *, allowed=frozenset()):
        self.tcp = goal
        self.t += 1.0
        return MotionStep(0.0, 1.0, 1.0)

    def set_gripper(self, width_m):
        self.width = min(width_m, self.open_to)
        return self.width

    def capture(self):
        return None

    def now_s(self):
        return self.t


@pytest.mark.parametrize("open_to, released", [(0.08, True), (0.062, True), (0.05, False)])
def test_release_counts_when_the_fingers_clear_the_object(open_to, released):
    """Inside a bowl the walls may stop the fingers short of fully open: 62 mm around a 46 mm grip has
    let go; 50 mm has not."""
    motion = FakeMotion(grip_m=0.046, open_to=open_to)
    assert isinstance(motion, MotionBackend)
    man = Manipulator(motion, 0.08, np.zeros(7), capture_images=False)
    man.holding = AttachedObject("ball", (Primitive("sphere", (0.024,), (0.0, 0.0, 0.024)),),
                                 Pose(np.array([0.0, 0.0, 0.0]), np.eye(3)), 0.048)
    res = man.place_at(np.array([0.5, 0.1, 0.01]))
    assert res.success is released, res.message
    assert man.holding is None
    if not released:
        assert res.reason == "release_failed" and "held at 46.0 mm" in res.message


def test_an_object_held_by_its_rim_or_tall_and_thin_is_carried_more_slowly():
    from spacetools_ros.core.manipulation import _swings

    block = AttachedObject("block", (Primitive("box", (0.02, 0.02, 0.02), (0.0, 0.0, 0.02)),),
                           Pose(np.array([0.0, 0.0, -0.02]), np.eye(3)), 0.04)
    plate_by_rim = AttachedObject("plate", (Primitive("cylinder", (0.08, 0.0075), (0.0, 0.0, 0.0075)),),
                                  Pose(np.array([0.08, 0.0, -0.02]), np.eye(3)), 0.015)
    can = AttachedObject("can", (Primitive("cylinder", (0.015, 0.06), (0.0, 0.0, 0.06)),),
                         Pose(np.array([0.0, 0.0, -0.06]), np.eye(3)), 0.12)
    assert not _swings(block) and _swings(plate_by_rim) and _swings(can)


class FakeClosingMotion(FakeMotion):
    """FakeMotion whose fingers, closing, stop at ``stop_at`` (what is between them)."""

    def __init__(self, stop_at: float) -> None:
        super().__init__(grip_m=0.08, open_to=0.08)
        self.stop_at = stop_at

    def set_gripper(self, width_m):
        self.width = max(min(width_m, self.open_to), self.stop_at)
        return self.width


@pytest.mark.parametrize("closed_to, held", [(0.036, True), (0.0128, False)])
def test_a_block_pinched_by_an_edge_is_let_go_before_lifting(closed_to, held):
    from spacetools_ros.core.grasping import top_down_rotation
    from spacetools_ros.core.planning_scene import CollisionObject

    motion = FakeClosingMotion(closed_to)
    block = CollisionObject("seen0_black_box", (Primitive("box", (0.0205, 0.0205, 0.02), (0.0, 0.0, 0.02)),),
                            Pose(np.array([0.5, 0.0, 0.0]), np.eye(3)), 0.04)  # 35 mm + perception's padding
    motion.set_planning_scene(PlanningScene((block,)))
    man = Manipulator(motion, 0.08, np.zeros(7), capture_images=False)
    res = man.execute_grasp(Pose(np.array([0.5, 0.0, 0.02]), top_down_rotation(0.0)), "seen0_black_box")
    assert res.success is held, res.message
    if not held:
        assert res.reason == "grasp_missed" and "only an edge" in res.message
        assert man.holding is None and motion.width == 0.08  # let go


def test_fingers_are_not_lowered_into_a_bowl_the_object_is_released_above_its_rim():
    from spacetools_ros.core.planning_scene import CollisionObject

    class Recording(FakeMotion):
        def __init__(self):
            super().__init__(grip_m=0.033, open_to=0.08)
            self.lowest = np.inf

        def move_linear(self, goal, *, allowed=frozenset()):
            self.lowest = min(self.lowest, float(goal.position[2]))
            return super().move_linear(goal, allowed=allowed)

    motion = Recording()
    bowl = CollisionObject("seen1_cyan_bowl", (Primitive("cylinder", (0.06, 0.0235), (0.0, 0.0, 0.0235)),),
                           Pose(np.array([0.33, 0.15, 0.0]), np.eye(3)), 0.047)
    motion.set_planning_scene(PlanningScene((bowl,)))
    man = Manipulator(motion, 0.08, np.zeros(7), capture_images=False)
    down = np.diag([1.0, -1.0, -1.0])  # TCP z points down: the ball's bottom 2 cm below the TCP
    man.holding = AttachedObject("ball", (Primitive("sphere", (0.022,), (0.0, 0.0, 0.022)),),
                                 Pose(np.array([0.0, 0.0, 0.02]), down.T), 0.044)
    res = man.place_at(np.array([0.33, 0.15, 0.005]), support="seen1_cyan_bowl")
    assert res.success, res.message
    assert motion.lowest >= 0.047 + 0.005 - 1e-6, motion.lowest  # fingertips (the TCP) above the rim
    # on the table, with no support, it is put down where asked
    motion2 = Recording()
    man2 = Manipulator(motion2, 0.08, np.zeros(7), capture_images=False)
    man2.holding = AttachedObject("ball", (Primitive("sphere", (0.022,), (0.0, 0.0, 0.022)),),
                                  Pose(np.array([0.0, 0.0, 0.02]), down.T), 0.044)
    assert man2.place_at(np.array([0.33, 0.15, 0.0])).success
    assert motion2.lowest < 0.035


class RecordingMotion(FakeMotion):
    """FakeMotion that records its moves; home's TCP pose is ``home``; the first ``breaks``
    straight descents cannot be followed (the line breaks near a joint limit)."""

    def __init__(self, home: Pose, breaks: int = 0) -> None:
        super().__init__(grip_m=0.01, open_to=0.08)
        self.home, self.breaks, self.moves = home, breaks, []

    def tcp_pose(self, q=None):
        return self.home if q is not None else self.tcp

    def move_joints(self, q_goal, *, allowed=frozenset(), speed_scale=1.0):
        self.moves.append(("joints", None))
        return super().move_joints(q_goal, allowed=allowed, speed_scale=speed_scale)

    def move_linear(self, goal, *, allowed=frozenset()):
        from spacetools_ros.core.errors import MotionFailure

        if goal.position[2] < 0.1 and self.breaks > 0:
            self.breaks -= 1
            self.moves.append(("broken", goal))
            raise MotionFailure("ik_failed", f"Cartesian path breaks at {goal.position.tolist()}")
        self.moves.append(("linear", goal))
        return super().move_linear(goal, allowed=allowed)


def _plate_by_rim():
    return AttachedObject("plate", (Primitive("cylinder", (0.08, 0.0075), (0.0, 0.0, 0.0075)),),
                          Pose(np.array([0.08, 0.0, 0.016]), np.eye(3)), 0.015)


def test_a_dish_held_by_its_rim_goes_home_level_and_a_firm_grip_by_joints():
    """A joint-space path to home tilts the hand on its way, which turns a rim-held plate out of
    the fingers: it goes in a straight line, pointing down, keeping its yaw; a block held at its
    centre goes by joints as before."""
    from spacetools_ros.core.grasping import top_down_rotation

    home = Pose(np.array([0.307, 0.0, 0.487]), top_down_rotation(0.0))
    motion = RecordingMotion(home)
    motion.tcp = Pose(np.array([0.45, -0.3, 0.14]), top_down_rotation(1.0))
    man = Manipulator(motion, 0.08, np.zeros(7), capture_images=False)
    man.holding = _plate_by_rim()
    man.go_home(speed_scale=0.2)
    assert [m[0] for m in motion.moves] == ["linear"]
    goal = motion.moves[0][1]
    assert np.allclose(goal.position, home.position) and np.allclose(goal.rotation, top_down_rotation(1.0))

    motion = RecordingMotion(home)
    man = Manipulator(motion, 0.08, np.zeros(7), capture_images=False)
    man.holding = AttachedObject("block", (Primitive("box", (0.02, 0.02, 0.02), (0.0, 0.0, 0.02)),),
                                 Pose(np.array([0.0, 0.0, 0.02]), np.eye(3)), 0.04)
    man.go_home(speed_scale=0.2)
    assert [m[0] for m in motion.moves] == ["joints"]


@pytest.mark.parametrize("breaks, placed", [(1, True), (2, True), (3, False)])
def test_a_place_whose_straight_descent_breaks_tries_the_next_turned_pose(breaks, placed):
    """Both ends of a descent can be reachable while the line between them is not (near the base):
    the hand, still above, tries the place turned about the vertical, up to three descents."""
    home = Pose(np.array([0.307, 0.0, 0.487]), np.diag([1.0, -1.0, -1.0]))
    motion = RecordingMotion(home, breaks=breaks)
    man = Manipulator(motion, 0.08, np.zeros(7), capture_images=False)
    man.holding = AttachedObject("ball", (Primitive("sphere", (0.02,), (0.0, 0.0, 0.02)),),
                                 Pose(np.array([0.0, 0.0, 0.02]), np.eye(3)), 0.04)
    res = man.place_at(np.array([0.3, 0.0, 0.0]))
    kinds = [m[0] for m in motion.moves]
    assert kinds.count("broken") == breaks
    yaws = {round(float(np.arctan2(g.rotation[1, 0], g.rotation[0, 0])), 3) for k, g in motion.moves if k == "broken"}
    assert len(yaws) == breaks  # each try is another pose
    assert res.success is placed, res.message
    if placed:
        assert man.holding is None and kinds.count("joints") == breaks + 1
    else:
        assert res.reason == "ik_failed" and "breaks" in res.message and man.holding is not None


class TurnedWristMotion(FakeClosingMotion):
    """Closes on a 36 mm can; a lift from a hand turned away from ``yaw_ok`` breaks (a wrist limit)."""

    def __init__(self, yaw_ok: float) -> None:
        super().__init__(0.036)
        self.yaw_ok, self.lifts = yaw_ok, []

    def move_linear(self, goal, *, allowed=frozenset()):
        from spacetools_ros.core.errors import MotionFailure

        if goal.position[2] > self.tcp.position[2] + 0.05:  # a lift
            yaw = float(np.arctan2(self.tcp.rotation[1, 0], self.tcp.rotation[0, 0]))
            self.lifts.append(round(yaw, 3))
            if abs(yaw - self.yaw_ok) > 1e-3:
                raise MotionFailure("ik_failed", "Cartesian path breaks")
        return super().move_linear(goal, allowed=allowed)


def test_a_recentred_grasp_that_cannot_lift_turns_back_and_lifts_as_first_closed():
    from spacetools_ros.core.grasping import top_down_rotation
    from spacetools_ros.core.planning_scene import CollisionObject

    motion = TurnedWristMotion(yaw_ok=0.0)
    can = CollisionObject("seen0_red_cylinder", (Primitive("cylinder", (0.02, 0.035), (0.0, 0.0, 0.035)),),
                          Pose(np.array([0.5, 0.0, 0.0]), np.eye(3)), 0.07)
    motion.set_planning_scene(PlanningScene((can,)))
    man = Manipulator(motion, 0.08, np.zeros(7), capture_images=False)
    res = man.execute_grasp(Pose(np.array([0.5, 0.0, 0.04]), top_down_rotation(0.0)), "seen0_red_cylinder")
    assert res.success, res.message
    # risen above the can to turn, the turned lift breaks, back (turned in place) and lifted
    assert motion.lifts == [0.0, round(-np.pi / 2, 3), 0.0], motion.lifts
    assert man.holding is not None and np.allclose(man.holding.pose_in_tcp.position, [0.0, 0.0, 0.04], atol=1e-6)
    assert np.allclose(man.holding.pose_in_tcp.rotation, top_down_rotation(0.0).T, atol=1e-6)  # held as first closed
    # a wrist that cannot lift either way: released, nothing held, no endless turning
    motion = TurnedWristMotion(yaw_ok=9.0)
    motion.set_planning_scene(PlanningScene((can,)))
    man = Manipulator(motion, 0.08, np.zeros(7), capture_images=False)
    res = man.execute_grasp(Pose(np.array([0.5, 0.0, 0.04]), top_down_rotation(0.0)), "seen0_red_cylinder")
    # it cannot rise to turn, closes again where it is, cannot lift: the open hand backs off
    assert not res.success and man.holding is None and len(motion.lifts) == 3


class SqueezedOutMotion(FakeClosingMotion):
    """Closes on a 50 mm can (43 mm measured); lifted the 1.5 cm that centres it between the pads,
    the fingers close to ``after_lift`` (it slid out across them when that is narrower). Records
    the hand's yaw at every move."""

    def __init__(self, after_lift: float) -> None:
        super().__init__(0.043)
        self.after_lift, self.yaws = after_lift, []

    def move_linear(self, goal, *, allowed=frozenset()):
        if 0.01 < goal.position[2] - self.tcp.position[2] < 0.05 and self.width < 0.07:  # the small lift
            self.width = self.stop_at = self.after_lift
        self.yaws.append(round(float(np.arctan2(goal.rotation[1, 0], goal.rotation[0, 0])), 3))
        self.allowed = allowed
        return super().move_linear(goal, allowed=allowed)


@pytest.mark.parametrize("after_lift, held", [(0.0425, True), (0.0167, False)])
def test_a_can_squeezed_out_across_the_pads_as_it_is_lifted_is_not_turned_over(after_lift, held):
    """A 5 cm can held 1 cm off across the pads slid out of them 2.3 cm as it was lifted to centre
    it; the turned fingers came down where it had been, landed on it and knocked it over. Now the
    hand opens and backs off (the can stands where a fresh look finds it); a can that stays between
    the pads is turned and held as before."""
    from spacetools_ros.core.grasping import top_down_rotation
    from spacetools_ros.core.planning_scene import CollisionObject

    motion = SqueezedOutMotion(after_lift)
    can = CollisionObject("seen0_orange_cylinder", (Primitive("cylinder", (0.025, 0.041), (0.0, 0.0, 0.041)),),
                          Pose(np.array([0.4, 0.14, 0.0]), np.eye(3)), 0.082)
    motion.set_planning_scene(PlanningScene((can,)))
    man = Manipulator(motion, 0.08, np.zeros(7), capture_images=False)
    res = man.execute_grasp(Pose(np.array([0.398, 0.14, 0.05]), top_down_rotation(0.0)), "seen0_orange_cylinder")
    assert res.success is held, res.message
    turned = any(abs(y) > 1.0 for y in motion.yaws)
    if held:
        assert turned and man.holding is not None
    else:
        assert res.reason == "grasp_missed" and "slipped out across the fingers" in res.message
        assert not turned and man.holding is None and motion.width > 0.07  # opened, no turn over it
        # and backed off up out of the camera's view, though the hand stood inside the can's padded
        # model (not allowed to touch it, the retreat had failed and the arm hid the can)
        assert motion.tcp.position[2] > 0.14 and frozenset({"robot", "obj:seen0_orange_cylinder"}) in motion.allowed


class TurningBlockMotion(FakeClosingMotion):
    """Closes at ``closed``; once lifted, the block turns between the fingers to ``lifted``."""

    def __init__(self, closed: float, lifted: float) -> None:
        super().__init__(closed)
        self.lifted = lifted

    def move_linear(self, goal, *, allowed=frozenset()):
        if goal.position[2] > self.tcp.position[2] + 0.05 and self.width < 0.07:  # lifting what it holds
            self.width = self.lifted
        return super().move_linear(goal, allowed=allowed)


@pytest.mark.parametrize("lifted, held", [(0.035, True), (0.0223, False)])
def test_a_block_that_turns_in_the_fingers_as_it_is_lifted_is_put_back_down(lifted, held):
    from spacetools_ros.core.grasping import top_down_rotation
    from spacetools_ros.core.planning_scene import CollisionObject

    motion = TurningBlockMotion(0.0269, lifted)
    block = CollisionObject("seen0_brown_box", (Primitive("box", (0.0215, 0.0215, 0.02), (0.0, 0.0, 0.02)),),
                            Pose(np.array([0.5, 0.0, 0.0]), np.eye(3)), 0.04)  # 37 mm + perception's padding
    motion.set_planning_scene(PlanningScene((block,)))
    man = Manipulator(motion, 0.08, np.zeros(7), capture_images=False)
    grasp = Pose(np.array([0.5, 0.0, 0.02]), top_down_rotation(0.0))
    res = man.execute_grasp(grasp, "seen0_brown_box")
    assert res.success is held, res.message
    if not held:
        assert res.reason == "grasp_missed" and "turned in the fingers" in res.message
        assert man.holding is None and motion.width == 0.08  # put down and let go


class NeighbourAtTheFingersMotion(FakeMotion):
    """The retreat after a release collides with a neighbour's padded model unless contact with
    objects is allowed."""

    def __init__(self) -> None:
        super().__init__(grip_m=0.046, open_to=0.08)
        self.retreats = []

    def move_linear(self, goal, *, allowed=frozenset()):
        from spacetools_ros.core.errors import MotionFailure

        if self.width > 0.06 and goal.position[2] > self.tcp.position[2]:  # rising with open fingers
            self.retreats.append(allowed)
            if frozenset({"robot", "obj"}) not in allowed:
                raise MotionFailure("collision", "Cartesian path collides: robot:panda_rightfinger vs obj:seen1_purple_box")
        return super().move_linear(goal, allowed=allowed)


def test_a_hand_whose_open_fingers_touch_a_neighbour_still_rises_out_of_the_view():
    motion = NeighbourAtTheFingersMotion()
    man = Manipulator(motion, 0.08, np.zeros(7), capture_images=False)
    man.holding = AttachedObject("box", (Primitive("box", (0.02, 0.02, 0.02), (0.0, 0.0, 0.02)),),
                                 Pose(np.array([0.0, 0.0, 0.02]), np.eye(3)), 0.04)
    res = man.place_at(np.array([0.6, 0.15, 0.0]))
    assert res.success and "retreat blocked" not in res.message, res.message
    assert len(motion.retreats) == 2 and motion.tcp.position[2] > 0.08  # up, out of the way
