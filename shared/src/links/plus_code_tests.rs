//! The plus-code decoder against the reference implementation's published test data
//! (google/open-location-code, `test_data/decoding.csv` and `validityTests.csv`), and
//! round trips through the encoder.

use super::*;

/// `decoding.csv`: code, length, latLo, lngLo, latHi, lngHi.
const DECODING: &str = "\
7FG49Q00+,6,20.35,2.75,20.4,2.8
7FG49QCJ+2V,10,20.37,2.782125,20.370125,2.78225
7FG49QCJ+2VX,11,20.3701,2.78221875,20.370125,2.78225
7FG49QCJ+2VXGJ,13,20.370113,2.782234375,20.370114,2.78223632813
8FVC2222+22,10,47.0,8.0,47.000125,8.000125
4VCPPQGP+Q9,10,-41.273125,174.785875,-41.273,174.786
62G20000+,4,0.0,-180.0,1,-179
22220000+,4,-90,-180,-89,-179
7FG40000+,4,20.0,2.0,21.0,3.0
22222222+22,10,-90.0,-180.0,-89.999875,-179.999875
6VGX0000+,4,0,179,1,180
6FH32222+222,11,1,1,1.000025,1.00003125
CFX30000+,4,89,1,90,2
62H20000+,4,1,-180,2,-179
62H30000+,4,1,-179,2,-178
CFX3X2X2+X2,10,89.9998750,1,90,1.0001250
84000000+,2,30,-140,50,-120
6FH56C22+22,10,1.2000000000000028,3.4000000000000057,1.2001249999999999,3.4001250000000027
849VGJQF+VX7QR3J,15,37.5396691200,-122.3750698242,37.5396691600,-122.3750697021
849VGJQF+VX7QR3J7QR3J,15,37.5396691200,-122.3750698242,37.5396691600,-122.3750697021";

/// `validityTests.csv`: code, isValid, isShort, isFull.
const VALIDITY: &str = "\
8FWC2345+G6,true,false,true
8FWC2345+G6G,true,false,true
8fwc2345+,true,false,true
8FWCX400+,true,false,true
WC2345+G6g,true,true,false
2345+G6,true,true,false
45+G6,true,true,false
+G6,true,true,false
G+,false,false,false
+,false,false,false
8FWC2345+G,false,false,false
8FWC2_45+G6,false,false,false
8FWC2η45+G6,false,false,false
8FWC2345+G6+,false,false,false
8FWC2345G6+,false,false,false
8FWC2300+G6,false,false,false
WC2300+G6g,false,false,false
WC2345+G,false,false,false
WC2300+,false,false,false
849VGJQF+VX7QR3J,true,false,true
849VGJQF+VX7QR3U,false,false,false
849VGJQF+VX7QR3JW,true,false,true
849VGJQF+VX7QR3JU,false,false,false";

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-10
}

#[test]
fn decodes_the_reference_cells() {
    for line in DECODING.lines() {
        let f: Vec<&str> = line.split(',').collect();
        let n = |i: usize| f[i].parse::<f64>().unwrap();
        let Code::Full(area) = classify(f[0]) else {
            panic!("{line}: not a full code");
        };
        let got = [
            area.south,
            area.west,
            area.south + area.height,
            area.west + area.width,
        ];
        let want = [n(2), n(3), n(4), n(5)];
        assert!(
            got.iter().zip(want).all(|(&g, w)| close(g, w)),
            "{line}: {got:?}"
        );
    }
}

#[test]
fn validity_follows_the_reference() {
    for line in VALIDITY.lines() {
        let f: Vec<&str> = line.split(',').collect();
        let (valid, short, full) = (f[1] == "true", f[2] == "true", f[3] == "true");
        let got = classify(f[0]);
        assert_eq!(
            (
                got != Code::Invalid,
                got == Code::Short,
                matches!(got, Code::Full(_))
            ),
            (valid, short, full),
            "{line}"
        );
    }
}

#[test]
fn a_cell_s_centre_is_clipped_at_the_pole() {
    let Code::Full(area) = classify("CFX30000+") else {
        panic!("a full code");
    };
    assert_eq!(area.centre(), (89.5, 1.5));
    let Code::Full(area) = classify("CFX3X2X2+X2") else {
        panic!("a full code");
    };
    let (lat, lng) = area.centre();
    assert!(
        close(lat, 89.9999375) && close(lng, 1.0000625),
        "{lat},{lng}"
    );
}

#[test]
fn first_digits_beyond_the_globe_are_not_full_codes() {
    // Latitude digit 9 (F) is 90°..110°; longitude digit 18 (W) is 180°..200°.
    assert_eq!(classify("F2222222+22"), Code::Invalid);
    assert_eq!(classify("2W222222+22"), Code::Invalid);
    assert!(matches!(classify("CV222222+22"), Code::Full(_)));
}

/// `encoding.csv` rows of 8 digits or more: latitude, longitude, length, code.
const ENCODING: &str = "\
20.3700625,2.7821875,10,7FG49QCJ+2V
20.3701125,2.782234375,11,7FG49QCJ+2VX
20.3701135,2.78223535156,13,7FG49QCJ+2VXGJ
47.0000625,8.0000625,10,8FVC2222+22
-41.2730625,174.7859375,10,4VCPPQGP+Q9
-89.9999375,-179.9999375,10,22222222+22
1,1,11,6FH32222+222
90,1,10,CFX3X2X2+X2
20.3701135,362.78223535156,13,7FG49QCJ+2VXGJ
47.0000625,728.0000625,10,8FVC2222+22
-41.2730625,-905.2140625,10,4VCPPQGP+Q9
1.2,3.4,10,6FH56C22+22
37.539669125,-122.375069724,15,849VGJQF+VX7QR3J
35.6,3.033,10,8F75J22M+26
-48.71,142.78,8,4R347QRJ+
-2.804,7.003,13,6F9952W3+C6222
13.9,164.88,12,7V56WV2J+2222
-52.166,13.694,14,3FVMRMMV+JJ2222
70.3,-87.64,13,C62J8926+22222
66.89,-106,10,95RPV2R2+22
-37.014,-159.936,10,43J2X3P7+CJ
-57.25,125.49,15,3QJ7QF2R+2222222
10.734,-168.294,10,722HPPM4+JC
79.7525,6.9623,8,CFF8QX36+
35.019,148.827,11,8R7C2R9G+JR2
-68.54504,-62.81725,11,373VF53M+X4J
-18.32,96.397,10,5MHRM9JW+2R
80.0100000001,58.57,15,CHGW2H6C+2222222
80.0099999999,58.57,15,CHGW2H5C+X2RRRRR
-80.0099999999,58.57,15,2HFWXHRC+2222222
-80.0100000001,58.57,15,2HFWXHQC+X2RRRRR
47.000000080000000,8.00022229,15,8FVC2222+235235C
68.3500147997595,113.625636875353,15,9PWM9J2G+272FWJV
38.1176000887231,165.441989844555,15,8VC74C9R+2QX445C
-28.1217794010122,-154.066811473758,15,5337VWHM+77PR2GR";

#[test]
fn the_test_encoder_matches_the_reference_codes() {
    for line in ENCODING.lines() {
        let f: Vec<&str> = line.split(',').collect();
        let n = |i: usize| f[i].parse::<f64>().unwrap();
        assert_eq!(encode(n(0), n(1), f[2].parse().unwrap()), f[3], "{line}");
    }
}
