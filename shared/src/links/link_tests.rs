//! Table tests of the link forms added with plus codes and the structured `data=`
//! block: plus codes alone and in links (full ones decoded, short ones left to a place
//! search), a route's destination, an embed's camera, a `/maps/search/` path, the EU
//! consent interstitial, and links that name a place by id without coordinates.

use super::{test_support::assert_near, *};

/// `5G5CVX5C+2V`: the cell from -26.1425, 28.972125, 0.000125° on each side.
const CODE_LAT: f64 = -26.1424375;
const CODE_LNG: f64 = 28.9721875;

#[test]
fn full_plus_codes_decode_offline_to_their_cell_s_centre() {
    let code = |link| (link, CODE_LAT, CODE_LNG, Pattern::PlusCode);
    assert_near(&[
        code("5G5CVX5C+2V"),
        code("5g5cvx5c+2v"),
        code("  5G5CVX5C+2V\n"),
        code("5G5CVX5C+2V Johannesburg, South Africa"),
        code("https://plus.codes/5G5CVX5C+2V"),
        code("https://plus.codes/5G5CVX5C%2B2V"),
        code("https://www.google.com/maps/search/5G5CVX5C%2B2V"),
        code("https://www.google.com/maps/search/5G5CVX5C+2V?entry=ttu"),
        code("https://www.google.com/maps/place/5G5CVX5C%2B2V/"),
        code("https://maps.google.com/?q=5G5CVX5C%2B2V"),
        code("https://www.google.com/maps?q=5G5CVX5C+2V&hl=en"),
        code("https://www.google.com/maps/search/?api=1&query=5G5CVX5C%2B2V"),
        // Sandton's dropped pin of issue 11, as a code.
        ("5G5CV3R3+P3", -26.1081875, 28.0526875, Pattern::PlusCode),
        // A padded code stands for a larger cell: 0.05° here.
        ("7FG49Q00+", 20.375, 2.775, Pattern::PlusCode),
        // A code is never read as text (`2329232 W`, `+23`).
        ("2329232W+23", -89.9999375, -152.9048125, Pattern::PlusCode),
    ]);
}

#[test]
fn the_dropped_pin_encodes_to_the_code_used_above() {
    assert_eq!(
        plus_code::encode(-26.1081944, 28.0526944, 10),
        "5G5CV3R3+P3"
    );
}

#[test]
fn short_plus_codes_are_left_to_a_place_search() {
    for (link, code) in [
        ("VX5C+2V Johannesburg", "VX5C+2V"),
        ("VX5C+2V, Johannesburg, South Africa", "VX5C+2V"),
        // Five characters before the `+` is not even a valid short code; a place search
        // with the locality is still the best chance.
        ("CVX5C+2V Johannesburg", "CVX5C+2V"),
        (
            "https://maps.google.com/?q=VX5C%2B2V+Johannesburg",
            "VX5C+2V",
        ),
        (
            "https://www.google.com/maps/place/VX5C%2B2V+Johannesburg/",
            "VX5C+2V",
        ),
        ("5C+2V", "5C+2V"),
    ] {
        let err = parse(link).expect_err(link);
        assert_eq!(err, ParseError::ShortPlusCode(code.to_owned()), "{link:?}");
        assert!(err.may_resolve_online(), "{link:?}");
    }
}

#[test]
fn broken_full_plus_codes_are_refused() {
    for (link, code) in [
        ("8FWC2345+G", "8FWC2345+G"),
        ("8FWC2300+G6", "8FWC2300+G6"),
        ("https://plus.codes/XXXXXXXX+XX", "XXXXXXXX+XX"),
    ] {
        let err = parse(link).expect_err(link);
        assert_eq!(
            err,
            ParseError::InvalidPlusCode(code.to_owned()),
            "{link:?}"
        );
        assert!(!err.may_resolve_online());
    }
    // Not plus codes at all.
    for text in ["C++", "22+3 apples", "1+1=2", "https://example.com/a+b"] {
        assert_eq!(parse(text), Err(ParseError::NoCoordinates), "{text:?}");
    }
}

#[test]
fn a_route_s_destination_is_its_last_stop() {
    assert_near(&[
        (
            "https://www.google.com/maps/dir//UBT+College,+10000+Bulevardi+Bill+Klinton,+Prishtina/@42.6532375,21.0700476,13z/data=!4m8!4m7!1m0!1m5!1m1!1s0x13549f47a5602081:0xec721f5ff5e05ca0!2m2!1d21.1462653!2d42.6532375?entry=ttu",
            42.6532375,
            21.1462653,
            Pattern::Directions,
        ),
        (
            "https://www.google.pl/maps/dir/Natolin,+Belgradzka,+02-793+Warszawa/Na+Uboczu+26,+02-791+Warszawa/@52.1401111,21.0501311,17.17z/data=!4m19!4m18!1m10!1m1!1s0x47192d82abded8f9:0xbd25f25d5bb49ffd!2m2!1d21.0575824!2d52.1403392!3m4!1m2!1d21.0485162!2d52.1407609!3s0x47192d81ec1ce537:0xf0dd640d76b13c46!1m5!1m1!1s0x47192d81ce50d9e1:0xf1f58f0a051d2e85!2m2!1d21.0470319!2d52.1412447!3e2?entry=ttu",
            52.1412447,
            21.0470319,
            Pattern::Directions,
        ),
        // A place with a route to it: the place pin comes first.
        (
            "https://www.google.com/maps/place/IGREJA/@-19.7854722,-43.9408568,17z/data=!4m17!1m7!3m6!1s0xa68589a36277a7:0xb83ee4d5c45bdf7b!2sIGREJA!8m2!3d-19.7855952!4d-43.9406685!16s%2Fg%2F11c40wh85f!4m8!1m0!1m5!1m1!1s0xa68589a36277a7:0xb83ee4d5c45bdf7b!2m2!1d-43.9406685!2d-19.7855952!3e3",
            -19.7855952,
            -43.9406685,
            Pattern::Place,
        ),
        // A destination with nothing known: the map centre, as before.
        (
            "https://www.google.com/maps/dir/Sandton/@-26.12,28.04,13z/data=!4m7!4m6!1m5!1m1!1s0x1:0x2!2m2!1d28.0567!2d-26.1076!1m0",
            -26.12,
            28.04,
            Pattern::At,
        ),
    ]);
}

#[test]
fn an_embed_gives_its_camera_as_an_approximate_centre() {
    let iframe = "<iframe src=\"https://www.google.com/maps/embed?pb=!1m18!1m12!1m3!1d3580.2!2d28.0567!3d-26.1076!2m3!1f0!2f0!3f0!3m2!1i1024!2i768!4f13.1!3m3!1m2!1s0x1e95730fd7b2e4d5%3A0x6a31ec9a4e6ae5e9!2sSandton%20City!5e0!3m2!1sen!2sza!4v1700000000000\" width=\"600\" height=\"450\" style=\"border:0;\" allowfullscreen=\"\" loading=\"lazy\"></iframe>";
    assert_near(&[
        (
            "https://www.google.com/maps/embed?pb=!1m18!1m12!1m3!1d3111.3393594753975!2d-9.229967885011321!3d38.75591977959266!2m3!1f0!2f0!3f0!3m2!1i1024!2i768!4f13.1!3m3!1m2!1s0xd1ecd05db2f959d%3A0x16d90a25b997894d!2sHM+Finance!5e0!3m2!1spt-PT!2spt!4v1488308784739",
            38.75591977959266,
            -9.229967885011321,
            Pattern::Embed,
        ),
        (iframe, -26.1076, 28.0567, Pattern::Embed),
    ]);
    // Street View's embed writes `1d<lat>!2d<lng>` in a message of another shape: not
    // read (it would be easy to read swapped).
    assert_eq!(
        parse(
            "https://www.google.com/maps/embed?pb=!4v1693050723186!6m8!1m7!1sJesj_mVAwp0AAARiXGL73A!2m2!1d39.1045651!2d39.5473264!3f239.89!4f-0.11!5f0.7820865974627469"
        ),
        Err(ParseError::NoCoordinates)
    );
}

#[test]
fn a_search_for_coordinates_keeps_its_negative_longitude() {
    assert_near(&[
        (
            "https://www.google.com/maps/search/-15.765004,+-47.777717?entry=tts",
            -15.765004,
            -47.777717,
            Pattern::Search,
        ),
        (
            "https://www.google.com/maps/search/-26.108204,+28.0527061?entry=tts&g_ep=EgoyMDI0",
            -26.108204,
            28.0527061,
            Pattern::Search,
        ),
        (
            "https://www.google.com/maps/search/-26,+28",
            -26.0,
            28.0,
            Pattern::Search,
        ),
    ]);
}

#[test]
fn the_consent_interstitial_is_read_through() {
    assert_near(&[
        (
            "https://consent.google.com/ml?continue=https://www.google.com/maps/place/X/%40-6.2,106.8,17z/data%3D!3m1!4b1!4m5!3m4!1s0x0:0x0!8m2!3d-6.2088!4d106.8456&gl=ID",
            -6.2088,
            106.8456,
            Pattern::Place,
        ),
        (
            "https://consent.google.com/ml?continue=https://www.google.com/maps/@-33.9249,18.4241,15z&gl=DE&m=0&pc=m&uxe=eomtm&cm=2&hl=de&src=1",
            -33.9249,
            18.4241,
            Pattern::At,
        ),
        (
            "https://consent.google.com/ml?continue=https://maps.google.com/maps?q%3D-26.1076,28.0567%26hl%3Dde&gl=DE&m=0&pc=m&hl=de&src=1",
            -26.1076,
            28.0567,
            Pattern::BarePair,
        ),
        (
            "https://consent.google.com/ml?continue=https://www.google.com/maps/search/-15.765004,%2B-47.777717?entry%3Dtts&gl=BR",
            -15.765004,
            -47.777717,
            Pattern::Search,
        ),
    ]);
}

#[test]
fn a_place_named_by_id_without_coordinates_is_left_to_a_place_search() {
    for (link, id) in [
        (
            "https://maps.google.com/?cid=14887290543960349143",
            "cid 14887290543960349143",
        ),
        (
            "https://www.google.com/maps?cid=14887290543960349143&hl=en",
            "cid 14887290543960349143",
        ),
        (
            "https://www.google.com/maps/place/Sandton+City/data=!4m2!3m1!1s0x1e95730fd7b2e4d5:0x6a31ec9a4e6ae5e9",
            "feature id 0x1e95730fd7b2e4d5:0x6a31ec9a4e6ae5e9",
        ),
        (
            "https://www.google.com/maps/place/Sandton+City/data=!4m6!3m5!1s0x1e95730fd7b2e4d5:0x6a31ec9a4e6ae5e9!7e2!8m2?entry=ttu",
            "feature id 0x1e95730fd7b2e4d5:0x6a31ec9a4e6ae5e9",
        ),
        (
            "https://maps.google.com/?q=Sandton+City&ftid=0x1e95730fd7b2e4d5:0x6a31ec9a4e6ae5e9",
            "feature id 0x1e95730fd7b2e4d5:0x6a31ec9a4e6ae5e9",
        ),
        (
            "https://www.google.com/maps/place/?q=place_id:ChIJN1t_tDeuEmsRUsoyG83frY4",
            "place_id ChIJN1t_tDeuEmsRUsoyG83frY4",
        ),
        (
            "https://www.google.com/maps/search/?api=1&query=Google&query_place_id=ChIJN1t_tDeuEmsRUsoyG83frY4",
            "place_id ChIJN1t_tDeuEmsRUsoyG83frY4",
        ),
        (
            "https://www.google.com/maps/search/?api=1&query=place_id%3AChIJN1t_tDeuEmsRUsoyG83frY4",
            "place_id ChIJN1t_tDeuEmsRUsoyG83frY4",
        ),
    ] {
        let err = parse(link).expect_err(link);
        assert_eq!(
            err,
            ParseError::PlaceWithoutCoordinates(id.to_owned()),
            "{link:?}"
        );
        assert!(err.may_resolve_online());
        assert_eq!(
            err.offline_reason(),
            "needs a Places API key: the link names a place but carries no coordinates"
        );
    }
    // The null feature id names nothing; the place's name is all there is.
    assert_eq!(
        parse("https://www.google.com/maps/place/Quadra+28+Conjunto+H/data=!4m2!3m1!1s0x0:0x0"),
        Err(ParseError::NoCoordinates)
    );
}

#[test]
fn coordinates_beat_a_place_id() {
    assert_near(&[
        (
            "https://www.google.com/maps/place/X/@-26.1,28.0,15z/data=!4m2!3m1!1s0x1e95730fd7b2e4d5:0x6a31ec9a4e6ae5e9",
            -26.1,
            28.0,
            Pattern::At,
        ),
        (
            "https://maps.google.com/?q=-26.1076,28.0567&cid=14887290543960349143",
            -26.1076,
            28.0567,
            Pattern::Q,
        ),
    ]);
}

#[test]
fn coordinate_text_in_a_link_s_parts() {
    assert_near(&[
        (
            "https://maps.google.com/?q=26%C2%B006'29.5%22S+28%C2%B003'09.7%22E",
            -(26.0 + 6.0 / 60.0 + 29.5 / 3600.0),
            28.0 + 3.0 / 60.0 + 9.7 / 3600.0,
            Pattern::Dms,
        ),
        (
            "https://www.google.com/maps/place/26%C2%B006'29.5%22S+28%C2%B003'09.7%22E/",
            -(26.0 + 6.0 / 60.0 + 29.5 / 3600.0),
            28.0 + 3.0 / 60.0 + 9.7 / 3600.0,
            Pattern::Dms,
        ),
        // Google's own URL for a searched pin carries the pin too, which comes first.
        (
            "https://www.google.com/maps/place/26%C2%B006'29.5%22S+28%C2%B003'09.7%22E/@-26.1081944,28.0501195,17z/data=!3m1!4b1!4m4!3m3!8m2!3d-26.1081944!4d28.0526944",
            -26.1081944,
            28.0526944,
            Pattern::Place,
        ),
        (
            "https://maps.google.com/?q=S+26.1081,+E+28.0502",
            -26.1081,
            28.0502,
            Pattern::DecimalDegreesText,
        ),
    ]);
}
