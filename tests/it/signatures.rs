//! Asymmetric (`v1a`, ed25519) signatures through the running service: what
//! a receiver gets verifies with the endpoint's `whpk_` public key under
//! ed25519-dalek (not the ring code that signs), and during a key rotation
//! each request carries one signature per key, each verifying with its own
//! public key.

use std::time::Duration;

use base64::{engine::general_purpose::STANDARD, Engine};
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use trackwire::dev::feed::new_order;
use trackwire::schema::{EventType, SchemaVersion};
use trackwire::store::endpoints::{self, NewEndpoint};
use trackwire::webhook::SigningScheme;

use crate::harness::{eventually, TestEnv};
use crate::receiver::{Behavior, Received, Receiver};

const WAIT: Duration = Duration::from_secs(40);

fn verifying_key(whpk: &str) -> VerifyingKey {
    let bytes = STANDARD
        .decode(whpk.strip_prefix("whpk_").expect("whpk_ prefix"))
        .expect("base64");
    VerifyingKey::from_bytes(&bytes.try_into().expect("32 bytes")).expect("a public key")
}

/// The `v1a` signatures of a request that verify under `key`.
fn verified_by(request: &Received, key: &VerifyingKey) -> usize {
    let content = [
        request.header("webhook-id").as_bytes(),
        b".",
        request.header("webhook-timestamp").as_bytes(),
        b".",
        &request.body,
    ]
    .concat();
    request
        .header("webhook-signature")
        .split(' ')
        .filter_map(|entry| entry.strip_prefix("v1a,"))
        .filter_map(|b64| STANDARD.decode(b64).ok())
        .filter_map(|bytes| Signature::from_slice(&bytes).ok())
        .filter(|signature| key.verify(&content, signature).is_ok())
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ed25519_requests_verify_with_the_public_key_and_a_rotation_sends_both() {
    let env = TestEnv::new(1).await;
    let rx = Receiver::start(Behavior::Status(200)).await;
    env.partner("acme").await;
    let mut db = env.db().await;
    let tx = db.transaction().await.expect("tx");
    let (endpoint, first) = endpoints::insert_signed(
        &tx,
        &NewEndpoint {
            partner_id: "acme",
            url: &rx.url(),
            description: "",
            event_types: &EventType::ALL,
            schema_version: SchemaVersion::V2,
        },
        SigningScheme::Ed25519,
    )
    .await
    .expect("endpoint");
    tx.commit().await.expect("commit");
    assert!(first.as_str().starts_with("whsk_"));
    let first_key = verifying_key(first.public_key().expect("a public key"));
    let _svc = env.service(&[]);

    env.change("c", None, &new_order("A", "acme")).await;
    assert!(eventually(WAIT, || rx.acked().len() == 1).await);
    let request = &rx.acked()[0];
    let header = request.header("webhook-signature").to_owned();
    assert!(
        header.starts_with("v1a,") && !header.contains(' '),
        "one v1a signature and no HMAC one: {header}"
    );
    assert_eq!(verified_by(request, &first_key), 1);
    let mut tampered = request.clone();
    tampered.body = bytes::Bytes::from(request.body.to_vec().repeat(2));
    assert_eq!(
        verified_by(&tampered, &first_key),
        0,
        "a changed body fails"
    );

    // Rotation: the old key signs for the grace period beside the new one.
    let tx = db.transaction().await.expect("tx");
    let second = endpoints::rotate_secret(&tx, "acme", &endpoint.id, Duration::from_secs(3600))
        .await
        .expect("rotate")
        .expect("endpoint");
    tx.commit().await.expect("commit");
    assert_eq!(
        second.scheme(),
        SigningScheme::Ed25519,
        "a rotation keeps the scheme"
    );
    let second_key = verifying_key(second.public_key().expect("a public key"));
    let read = endpoints::get(&db, &endpoint.id).await.unwrap().unwrap();
    let public: Vec<_> = read.secrets.iter().filter_map(|s| s.public_key()).collect();
    assert_eq!(
        public,
        [second.public_key().unwrap(), first.public_key().unwrap()]
    );

    // The router reloads the endpoint on its change notification; an order
    // sent after that carries both signatures.
    let mut n = 0;
    let rotated = eventually(WAIT, || {
        rx.acked()
            .iter()
            .any(|r| verified_by(r, &second_key) == 1 && verified_by(r, &first_key) == 1)
    });
    let send_more = async {
        loop {
            n += 1;
            env.change("c", None, &new_order(&format!("B{n}"), "acme"))
                .await;
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    };
    let both = tokio::select! {
        found = rotated => found,
        _ = send_more => unreachable!(),
    };
    assert!(both, "during the grace period both keys sign each request");
    let last = rx.acked().last().cloned().unwrap();
    assert_eq!(last.header("webhook-signature").matches("v1a,").count(), 2);
}
