from charmed_ovn import securitylog


def test_an_event_has_microovns_fixed_fields_first():
    line = securitylog.format_event(securitylog.SYS, securitylog.STARTUP)
    assert line == "security=true category=SYS event=sys_startup"


def test_context_fields_are_sorted_and_the_message_comes_last_quoted():
    line = securitylog.format_event(
        securitylog.AUTHZ, securitylog.ADMIN, "ovn-central/1 joined", node="ovn-central/1", action="cluster_join"
    )
    assert line == (
        'security=true category=AUTHZ event=authz_admin action=cluster_join node=ovn-central/1 msg="ovn-central/1 joined"'
    )


def test_a_value_with_spaces_quotes_or_equals_is_quoted_and_escaped():
    line = securitylog.format_event(securitylog.AUTHZ, securitylog.ADMIN, spec='a b"c=d')
    assert line.endswith(r'spec="a b\"c=d"')


def test_booleans_are_lowercase_as_in_microovns_auto_renew():
    assert securitylog.format_event(securitylog.AUTHN, securitylog.CREDENTIAL_CHANGED, auto_renew=True).endswith(
        "auto_renew=true"
    )


def test_an_empty_value_is_kept_visible():
    assert securitylog.format_event(securitylog.AUTHZ, securitylog.ADMIN, key="").endswith('key=""')


def test_no_message_means_no_msg_field_and_no_trailing_space():
    line = securitylog.format_event(securitylog.SYS, securitylog.SHUTDOWN, node="u/0")
    assert line == "security=true category=SYS event=sys_shutdown node=u/0"


DEFAULTS = securitylog.digests({"a": "x", "b": 1, "c": True})


def test_before_any_record_the_options_given_at_deployment_are_set():
    current = securitylog.digests({"a": "y", "b": 1, "c": True})
    assert securitylog.config_changes({}, current, DEFAULTS) == [("config_set", "a")]


def test_nothing_changed_means_no_event():
    assert securitylog.config_changes(DEFAULTS, DEFAULTS, DEFAULTS) == []


def test_a_key_back_at_its_default_is_a_delete_and_another_change_a_set():
    seen = securitylog.digests({"a": "y", "b": 2, "c": True})
    current = securitylog.digests({"a": "x", "b": 3, "c": True})
    assert securitylog.config_changes(seen, current, DEFAULTS) == [("config_delete", "a"), ("config_set", "b")]


def test_the_record_holds_no_configuration_value():
    digests = securitylog.digests({"external-ca": "-----BEGIN CERTIFICATE-----secret"})
    assert "BEGIN" not in str(digests) and "secret" not in str(digests)
    assert digests != securitylog.digests({"external-ca": "other"})
