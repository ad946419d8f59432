use super::super::{Frequency, Recurrence};

#[test]
fn valid_rules_are_accepted_and_stored_in_canonical_form() {
    for (input, canonical) in [
        ("FREQ=DAILY", "FREQ=DAILY"),
        ("freq=daily;interval=2", "FREQ=DAILY;INTERVAL=2"),
        ("RRULE:FREQ=WEEKLY;BYDAY=MO,WE", "FREQ=WEEKLY;BYDAY=MO,WE"),
        ("rrule:FREQ=MONTHLY;BYDAY=+1MO", "FREQ=MONTHLY;BYDAY=1MO"),
        ("  FREQ=YEARLY;BYDAY=20MO  ", "FREQ=YEARLY;BYDAY=20MO"),
        ("FREQ=MONTHLY;BYDAY=2TU,-1FR", "FREQ=MONTHLY;BYDAY=2TU,-1FR"),
        (
            "FREQ=MONTHLY;BYMONTHDAY=-1,29,30,31",
            "FREQ=MONTHLY;BYMONTHDAY=-1,29,30,31",
        ),
        (
            "FREQ=YEARLY;BYYEARDAY=-1,366",
            "FREQ=YEARLY;BYYEARDAY=-1,366",
        ),
        (
            "FREQ=YEARLY;BYWEEKNO=20,-1;BYDAY=MO",
            "FREQ=YEARLY;BYWEEKNO=20,-1;BYDAY=MO",
        ),
        (
            "FREQ=HOURLY;INTERVAL=4;BYHOUR=8,12;BYMINUTE=0,30;BYSECOND=0",
            "FREQ=HOURLY;INTERVAL=4;BYHOUR=8,12;BYMINUTE=0,30;BYSECOND=0",
        ),
        (
            "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
            "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
        ),
        (
            "FREQ=WEEKLY;INTERVAL=2;WKST=su;BYDAY=TU,SU",
            "FREQ=WEEKLY;INTERVAL=2;WKST=SU;BYDAY=TU,SU",
        ),
        (
            "FREQ=DAILY;UNTIL=20261231T235959Z",
            "FREQ=DAILY;UNTIL=20261231T235959Z",
        ),
        ("FREQ=DAILY;UNTIL=20261231", "FREQ=DAILY;UNTIL=20261231"),
        ("FREQ=DAILY;COUNT=10;", "FREQ=DAILY;COUNT=10"),
        ("INTERVAL=02;FREQ=DAILY", "INTERVAL=2;FREQ=DAILY"),
        ("FREQ=DAILY;INTERVAL=1000", "FREQ=DAILY;INTERVAL=1000"),
        ("FREQ=WEEKLY;BYDAY=MO,MO,TU", "FREQ=WEEKLY;BYDAY=MO,TU"),
        (
            "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
            "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
        ),
    ] {
        let parsed = Recurrence::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(parsed.as_str(), canonical, "{input}");
        assert_eq!(Recurrence::parse(canonical).unwrap(), parsed, "{input}");
    }
}

#[test]
fn invalid_rules_are_rejected_with_a_message_naming_the_problem() {
    for (input, expected) in [
        ("", "empty"),
        ("   ", "empty"),
        ("RRULE:", "empty"),
        ("BYDAY=MO", "FREQ is required"),
        ("FREQ=MINUTELY", "not supported"),
        ("FREQ=SECONDLY", "not supported"),
        ("FREQ=FORTNIGHTLY", "not a frequency"),
        (
            "FREQ=DAILY;COUNT=3;UNTIL=20261231T000000Z",
            "COUNT and UNTIL",
        ),
        ("DTSTART:20260101T090000Z\nRRULE:FREQ=DAILY", "DTSTART"),
        ("FREQ=DAILY;DTSTART=20260101T090000Z", "DTSTART"),
        ("FREQ=DAILY\nCOUNT=2", "single line"),
        ("FREQ=DAILY;INTERVAL=0", "INTERVAL"),
        ("FREQ=DAILY;INTERVAL=1001", "INTERVAL"),
        ("FREQ=DAILY;INTERVAL=-1", "INTERVAL"),
        ("FREQ=DAILY;INTERVAL=", "INTERVAL"),
        ("FREQ=DAILY;COUNT=0", "COUNT"),
        ("FREQ=DAILY;COUNT=99999999999999999999", "COUNT"),
        ("FREQ=DAILY;FREQ=WEEKLY", "FREQ is given more than once"),
        ("FREQ=DAILY;X-NAME=1", "unknown rule part \"X-NAME\""),
        ("FREQ=DAILY;EXDATE=20260101", "unknown rule part"),
        ("FREQ", "has no value"),
        ("FREQ=DAILY;BYHOUR=24", "BYHOUR value \"24\""),
        ("FREQ=DAILY;BYMINUTE=60", "BYMINUTE"),
        ("FREQ=DAILY;BYSECOND=61", "BYSECOND"),
        ("FREQ=MONTHLY;BYMONTHDAY=0", "BYMONTHDAY"),
        ("FREQ=MONTHLY;BYMONTHDAY=32", "BYMONTHDAY"),
        ("FREQ=MONTHLY;BYMONTHDAY=-32", "BYMONTHDAY"),
        ("FREQ=MONTHLY;BYMONTHDAY=1,,2", "BYMONTHDAY value \"\""),
        ("FREQ=YEARLY;BYYEARDAY=367", "BYYEARDAY"),
        ("FREQ=YEARLY;BYYEARDAY=0", "BYYEARDAY"),
        ("FREQ=YEARLY;BYWEEKNO=54", "BYWEEKNO"),
        ("FREQ=YEARLY;BYMONTH=13", "BYMONTH"),
        ("FREQ=YEARLY;BYMONTH=0", "BYMONTH"),
        ("FREQ=WEEKLY;BYDAY=XX", "BYDAY value \"XX\""),
        ("FREQ=MONTHLY;BYDAY=0MO", "BYDAY"),
        ("FREQ=YEARLY;BYDAY=54MO", "BYDAY"),
        ("FREQ=WEEKLY;BYDAY=MO,", "BYDAY"),
        (
            "FREQ=WEEKLY;BYDAY=1MO",
            "only allowed with FREQ=MONTHLY or FREQ=YEARLY",
        ),
        ("FREQ=DAILY;BYDAY=-1FR", "ordinals"),
        ("FREQ=MONTHLY;BYDAY=6MO", "within a month"),
        ("FREQ=YEARLY;BYMONTH=3;BYDAY=-6MO", "within a month"),
        ("FREQ=YEARLY;BYWEEKNO=1;BYDAY=1MO", "BYWEEKNO"),
        (
            "FREQ=MONTHLY;BYWEEKNO=1",
            "BYWEEKNO is only allowed with FREQ=YEARLY",
        ),
        (
            "FREQ=MONTHLY;BYYEARDAY=1",
            "BYYEARDAY is not allowed with FREQ=MONTHLY",
        ),
        (
            "FREQ=DAILY;BYYEARDAY=1",
            "BYYEARDAY is not allowed with FREQ=DAILY",
        ),
        (
            "FREQ=WEEKLY;BYMONTHDAY=1",
            "BYMONTHDAY is not allowed with FREQ=WEEKLY",
        ),
        ("FREQ=DAILY;BYSETPOS=1", "BYSETPOS needs another"),
        ("FREQ=MONTHLY;BYDAY=MO;BYSETPOS=0", "BYSETPOS"),
        ("FREQ=DAILY;UNTIL=20260230", "UNTIL"),
        ("FREQ=DAILY;UNTIL=2026-12-31", "UNTIL"),
        ("FREQ=DAILY;UNTIL=20261231T246000Z", "UNTIL"),
        ("FREQ=DAILY;UNTIL=20261231X", "UNTIL"),
        ("FREQ=DAILY;WKST=XY", "WKST"),
        ("FREQ=DAILY;BYDAY=ÄÖ", "BYDAY"),
    ] {
        let error = Recurrence::parse(input).expect_err(input);
        assert!(
            error.message().contains(expected),
            "{input:?}: {:?} should mention {expected:?}",
            error.message()
        );
        assert_eq!(error.code(), "invalid_rrule");
        assert!(!error.message().ends_with('.'), "{error}");
        assert!(error.to_string().starts_with("invalid recurrence rule: "));
    }
}

#[test]
fn overly_long_bodies_are_rejected_without_echoing_them() {
    let body = format!("FREQ=DAILY;BYHOUR={}", "1,".repeat(5000));
    let error = Recurrence::parse(&body).unwrap_err();
    assert!(error.message().contains("too long"));
    let long_value = format!("FREQ={}", "X".repeat(1000));
    assert!(Recurrence::parse(&long_value).unwrap_err().message().len() < 200);
}

#[test]
fn accessors_report_the_frequency_and_interval() {
    let hourly = Recurrence::parse("FREQ=HOURLY;INTERVAL=6").unwrap();
    assert_eq!(hourly.frequency(), Frequency::Hourly);
    assert_eq!(hourly.interval(), 6);
    assert!(hourly.is_sub_daily());
    assert!(hourly.is_unbounded());
    let weekly = Recurrence::parse("FREQ=WEEKLY;COUNT=3").unwrap();
    assert_eq!(weekly.frequency(), Frequency::Weekly);
    assert_eq!(weekly.interval(), 1);
    assert!(!weekly.is_sub_daily());
    assert!(!weekly.is_unbounded());
}
