from importer.run.firstrows import FirstRows


def test_a_new_key_gets_its_own_row_and_a_repeat_gets_the_first_row():
    rows = FirstRows()
    assert rows.first("ada@example.com", 2) == 2
    assert rows.first("grace@example.com", 3) == 3
    assert rows.first("ada@example.com", 9) == 2
    assert rows.first("ada@example.com", 12) == 2
    assert len(rows) == 2


def test_first_rows_survive_the_table_growing_many_times():
    rows = FirstRows()
    keys = [f"candidate{i}@example.com" for i in range(50_000)]
    assert [rows.first(key, number) for number, key in enumerate(keys, 2)] == list(range(2, 50_002))
    assert len(rows) == 50_000
    assert [rows.first(key, 99_999_999) for key in keys[::997]] == list(range(2, 50_002, 997))


def test_keys_are_compared_exactly():
    rows = FirstRows()
    rows.first("Ada@example.com", 2)
    assert rows.first("ada@example.com", 3) == 3  # the caller folds case when it wants to
    assert rows.first("", 4) == 4
    assert rows.first("", 5) == 4
