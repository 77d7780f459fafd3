from datetime import UTC, datetime

from charmed_ovn import backup


def test_backup_name_is_the_utc_time_without_spaces_or_colons():
    assert backup.backup_name(datetime(2026, 6, 1, 12, 3, 4, tzinfo=UTC)) == "20260601T120304Z"


def test_backup_names_sort_in_time_order():
    times = [
        datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC),
        datetime(2027, 1, 1, tzinfo=UTC),
        datetime(2026, 2, 1, tzinfo=UTC),
    ]
    names = [backup.backup_name(time) for time in times]
    assert sorted(names) == [backup.backup_name(time) for time in sorted(times)]
