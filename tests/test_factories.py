"""The factories make valid data however many tests ran before in the same worker."""

from donors.identity import parse_resident_id
from tests.factories import resident_id


def test_id_numbers_stay_valid_through_a_whole_turn_of_the_sequence():
    for male in (True, False):
        for _ in range(1000):
            parse_resident_id(resident_id(male=male))
