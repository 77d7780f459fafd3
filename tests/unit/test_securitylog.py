from charmed_ovn import securitylog


def test_format_event_without_fields_has_category_and_event_only():
    line = securitylog.format_event(securitylog.AUTHN, "create_ca")
    assert line == "security=true category=AUTHN event=create_ca"


def test_format_event_sorts_fields_by_key():
    line = securitylog.format_event(
        securitylog.AUTHN, "issue_certificate", unit="ovn-central/1", service="ovnnb"
    )
    assert line == "security=true category=AUTHN event=issue_certificate service=ovnnb unit=ovn-central/1"


def test_format_event_has_no_trailing_space_without_fields():
    assert not securitylog.format_event(securitylog.SYS, "start").endswith(" ")


def test_format_event_uses_the_given_category():
    assert securitylog.format_event(securitylog.AUTHZ, "deny", unit="u/0").startswith(
        "security=true category=AUTHZ event=deny "
    )
