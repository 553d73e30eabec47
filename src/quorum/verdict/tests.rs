//! Every combination of up, down and unknown for up to five locations, under
//! every quorum, against an independent formulation: the round is decided
//! when every way the unknown locations could have gone decides it the same.

use super::*;

const OUTCOMES: [LocationOutcome; 3] = [
    LocationOutcome::Up,
    LocationOutcome::Down(Class::Timeout),
    LocationOutcome::Unknown,
];

/// Every sequence of `n` outcomes (3ⁿ of them).
fn every_round(n: usize) -> Vec<Vec<LocationOutcome>> {
    (0..3usize.pow(n as u32))
        .map(|mut code| {
            (0..n)
                .map(|_| {
                    let o = OUTCOMES[code % 3];
                    code /= 3;
                    o
                })
                .collect()
        })
        .collect()
}

/// Whether a round with no unknown location fails: at least `required` down.
fn fails_when_all_known(round: &[bool], required: usize) -> bool {
    round.iter().filter(|down| **down).count() >= required
}

/// The independent formulation: resolve each unknown location both ways
/// (every completion), and decide only what all completions agree on.
fn by_every_completion(round: &[LocationOutcome], required: usize) -> RoundOutcome {
    let unknown: Vec<usize> = (0..round.len())
        .filter(|i| round[*i] == LocationOutcome::Unknown)
        .collect();
    let mut verdicts = (0..1usize << unknown.len()).map(|bits| {
        let completed: Vec<bool> = round
            .iter()
            .enumerate()
            .map(|(i, o)| match o {
                LocationOutcome::Down(_) => true,
                LocationOutcome::Up => false,
                LocationOutcome::Unknown => {
                    let k = unknown.iter().position(|u| *u == i).unwrap();
                    bits & (1 << k) != 0
                }
            })
            .collect();
        fails_when_all_known(&completed, required)
    });
    let first = verdicts.next().unwrap();
    if verdicts.any(|v| v != first) {
        RoundOutcome::NotEnoughLocations
    } else if first {
        RoundOutcome::Failing
    } else {
        RoundOutcome::Passing
    }
}

fn every_quorum(n: usize) -> Vec<Quorum> {
    let mut all = vec![Quorum::Majority, Quorum::All];
    all.extend((1..=n).map(Quorum::AtLeast));
    all
}

#[test]
fn every_combination_up_to_five_locations_agrees_with_every_completion() {
    let mut checked = 0;
    for n in 1..=5 {
        for quorum in every_quorum(n) {
            let required = quorum.required(n);
            for round in every_round(n) {
                let verdict = round_verdict(&round, quorum);
                assert_eq!(
                    verdict.outcome,
                    by_every_completion(&round, required),
                    "{round:?} under {quorum:?}"
                );
                assert_eq!(verdict.listed(), n);
                assert_eq!(verdict.quorum, required);
                checked += 1;
            }
        }
    }
    // 3ⁿ rounds × (n + 2) quorums, n = 1..=5.
    assert_eq!(checked, 3 * 3 + 9 * 4 + 27 * 5 + 81 * 6 + 243 * 7);
}

#[test]
fn the_default_quorum_is_a_majority_and_all_is_every_location() {
    let required: Vec<usize> = (1..=5).map(|n| Quorum::Majority.required(n)).collect();
    assert_eq!(required, [1, 2, 2, 3, 3]);
    assert_eq!(Quorum::All.required(4), 4);
    assert_eq!(Quorum::AtLeast(2).required(5), 2);
}

#[test]
fn one_location_failing_of_three_is_below_a_majority() {
    use LocationOutcome::*;
    let v = round_verdict(&[Down(Class::Timeout), Up, Up], Quorum::Majority);
    assert_eq!(v.outcome, RoundOutcome::Passing);
    assert_eq!(v.to_string(), "1 of 3 failing, below quorum 2");
}

#[test]
fn two_of_three_failing_reach_a_majority_whatever_the_third_saw() {
    use LocationOutcome::*;
    for third in OUTCOMES {
        let v = round_verdict(
            &[Down(Class::Timeout), Down(Class::ConnectError), third],
            Quorum::Majority,
        );
        assert_eq!(v.outcome, RoundOutcome::Failing, "third {third:?}");
    }
    let v = round_verdict(
        &[Down(Class::Timeout), Down(Class::Timeout), Up],
        Quorum::Majority,
    );
    assert_eq!(v.to_string(), "2 of 3 failing, quorum 2 reached");
}

#[test]
fn a_location_gone_leaves_the_verdict_to_the_other_two_when_they_agree() {
    use LocationOutcome::*;
    let both_up = round_verdict(&[Up, Up, Unknown], Quorum::Majority);
    assert_eq!(both_up.outcome, RoundOutcome::Passing);
    assert_eq!(
        both_up.to_string(),
        "0 of 3 failing, 1 unknown, below quorum 2"
    );
    let split = round_verdict(&[Up, Down(Class::Timeout), Unknown], Quorum::Majority);
    assert_eq!(split.outcome, RoundOutcome::NotEnoughLocations);
    assert_eq!(
        split.to_string(),
        "1 of 3 failing, 1 unknown: not enough locations known for quorum 2"
    );
}

#[test]
fn with_quorum_all_one_location_up_keeps_the_round_passing() {
    use LocationOutcome::*;
    let v = round_verdict(
        &[Down(Class::Timeout), Down(Class::Timeout), Up],
        Quorum::All,
    );
    assert_eq!(v.outcome, RoundOutcome::Passing);
    let unknown = round_verdict(&[Down(Class::Timeout), Unknown], Quorum::All);
    assert_eq!(unknown.outcome, RoundOutcome::NotEnoughLocations);
}
