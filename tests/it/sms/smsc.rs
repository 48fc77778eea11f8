//! An SMSC simulator speaking SMPP 3.4 to Kannel's bearerbox: it records
//! every submit_sm with its TLVs, answers with a message id, and on request
//! sends delivery receipts and customer replies (deliver_sm).
//!
//! kannel-extras' `drive_smpp` answers submit_sm without a message id, sends
//! no receipts and logs no TLVs, so it cannot check what these tests check.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

const BIND_TRANSCEIVER: u32 = 0x0000_0009;
const SUBMIT_SM: u32 = 0x0000_0004;
const DELIVER_SM: u32 = 0x0000_0005;
const UNBIND: u32 = 0x0000_0006;
const ENQUIRE_LINK: u32 = 0x0000_0015;
const RESPONSE: u32 = 0x8000_0000;
const GENERIC_NACK: u32 = 0x8000_0000;

/// TLV tags of the DLT ids, as scripts/kannel defines them.
pub const PE_ID: u16 = 0x1400;
pub const TEMPLATE_ID: u16 = 0x1401;

/// One message as it reached the SMSC.
#[derive(Debug, Clone)]
pub struct Submitted {
    pub message_id: String,
    pub source: String,
    pub destination: String,
    pub data_coding: u8,
    pub esm_class: u8,
    pub registered_delivery: u8,
    pub text: String,
    pub tlvs: HashMap<u16, Vec<u8>>,
    /// When it arrived.
    pub at: std::time::Instant,
}

impl Submitted {
    /// A TLV's value as text.
    pub fn tlv(&self, tag: u16) -> Option<String> {
        self.tlvs
            .get(&tag)
            .map(|v| String::from_utf8_lossy(v).trim_end_matches('\0').to_owned())
    }
}

#[derive(Default)]
struct Shared {
    received: Vec<Submitted>,
    /// Writes to the bound ESME's connection.
    to_esme: Option<mpsc::UnboundedSender<Vec<u8>>>,
    next_id: u64,
    next_sequence: u32,
}

/// The running simulator.
#[derive(Clone)]
pub struct Smsc {
    pub port: u16,
    shared: Arc<Mutex<Shared>>,
}

impl Smsc {
    /// Listens on a free loopback port.
    pub async fn start() -> Smsc {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Mutex::new(Shared {
            next_id: 7_000,
            next_sequence: 1,
            ..Shared::default()
        }));
        let accepting = shared.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, accepting.clone()));
            }
        });
        Smsc { port, shared }
    }

    /// Every message received so far.
    pub fn received(&self) -> Vec<Submitted> {
        self.shared.lock().unwrap().received.clone()
    }

    /// Whether an ESME is bound.
    pub fn bound(&self) -> bool {
        self.shared
            .lock()
            .unwrap()
            .to_esme
            .as_ref()
            .is_some_and(|t| !t.is_closed())
    }

    /// Sends a delivery receipt for `m`: `stat` is DELIVRD, UNDELIV or
    /// EXPIRED.
    pub fn report(&self, m: &Submitted, stat: &str) {
        let state: u8 = match stat {
            "DELIVRD" => 2,
            "EXPIRED" => 3,
            _ => 5,
        };
        let text = format!(
            "id:{} sub:001 dlvrd:001 submit date:2612012240 done date:2612012241 stat:{stat} err:000 text:",
            m.message_id
        );
        let mut tlvs = vec![(0x001E, cstr(&m.message_id)), (0x0427, vec![state])];
        tlvs.sort();
        self.deliver(&m.destination, &m.source, 0x04, &text, &tlvs);
    }

    /// Sends a customer's reply `text` from `from` to `to`.
    pub fn reply(&self, from: &str, to: &str, text: &str) {
        self.deliver(from, to, 0x00, text, &[]);
    }

    fn deliver(&self, from: &str, to: &str, esm_class: u8, text: &str, tlvs: &[(u16, Vec<u8>)]) {
        let mut shared = self.shared.lock().unwrap();
        let sequence = shared.next_sequence;
        shared.next_sequence += 1;
        let mut body = Vec::new();
        body.extend(cstr(""));
        body.extend([1, 1]);
        body.extend(cstr(from));
        body.extend([5, 0]);
        body.extend(cstr(to));
        body.extend([esm_class, 0, 0]);
        body.extend(cstr(""));
        body.extend(cstr(""));
        body.extend([0, 0, 0, 0]);
        body.push(u8::try_from(text.len()).unwrap());
        body.extend(text.as_bytes());
        for (tag, value) in tlvs {
            body.extend(tag.to_be_bytes());
            body.extend(u16::try_from(value.len()).unwrap().to_be_bytes());
            body.extend(value);
        }
        let pdu = pdu(DELIVER_SM, 0, sequence, &body);
        shared
            .to_esme
            .as_ref()
            .expect("an ESME is bound")
            .send(pdu)
            .unwrap();
    }
}

fn cstr(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

fn pdu(command: u32, status: u32, sequence: u32, body: &[u8]) -> Vec<u8> {
    let len = u32::try_from(16 + body.len()).unwrap();
    let mut out = Vec::with_capacity(16 + body.len());
    for word in [len, command, status, sequence] {
        out.extend(word.to_be_bytes());
    }
    out.extend(body);
    out
}

async fn serve(stream: TcpStream, shared: Arc<Mutex<Shared>>) {
    let (mut read, mut write) = stream.into_split();
    let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
    tokio::spawn(async move {
        while let Some(bytes) = rx.recv().await {
            if write.write_all(&bytes).await.is_err() {
                break;
            }
        }
    });
    loop {
        let mut header = [0u8; 16];
        if read.read_exact(&mut header).await.is_err() {
            return;
        }
        let word = |i: usize| u32::from_be_bytes(header[i..i + 4].try_into().unwrap());
        let (len, command, sequence) = (word(0) as usize, word(4), word(12));
        let mut body = vec![0u8; len.saturating_sub(16)];
        if read.read_exact(&mut body).await.is_err() {
            return;
        }
        let answer = match command {
            BIND_TRANSCEIVER => {
                shared.lock().unwrap().to_esme = Some(tx.clone());
                Some(pdu(command | RESPONSE, 0, sequence, &cstr("simsmsc")))
            }
            SUBMIT_SM => {
                let mut s = shared.lock().unwrap();
                s.next_id += 1;
                let id = s.next_id.to_string();
                let mut m = parse_sm(&body);
                m.message_id = id.clone();
                s.received.push(m);
                Some(pdu(command | RESPONSE, 0, sequence, &cstr(&id)))
            }
            ENQUIRE_LINK | UNBIND => Some(pdu(command | RESPONSE, 0, sequence, &[])),
            c if c & RESPONSE != 0 => None,
            _ => Some(pdu(GENERIC_NACK, 3, sequence, &[])),
        };
        if let Some(answer) = answer {
            if tx.send(answer).is_err() {
                return;
            }
        }
    }
}

/// Reads a submit_sm body.
fn parse_sm(body: &[u8]) -> Submitted {
    let mut at = 0;
    let c_string = |at: &mut usize| {
        let end = body[*at..].iter().position(|&b| b == 0).unwrap() + *at;
        let s = String::from_utf8_lossy(&body[*at..end]).into_owned();
        *at = end + 1;
        s
    };
    let _service_type = c_string(&mut at);
    at += 2;
    let source = c_string(&mut at);
    at += 2;
    let destination = c_string(&mut at);
    let esm_class = body[at];
    at += 3;
    let _schedule = c_string(&mut at);
    let _validity = c_string(&mut at);
    let registered_delivery = body[at];
    let data_coding = body[at + 2];
    let sm_length = body[at + 4] as usize;
    at += 5;
    let short_message = &body[at..at + sm_length];
    at += sm_length;
    let mut tlvs = HashMap::new();
    while at + 4 <= body.len() {
        let tag = u16::from_be_bytes([body[at], body[at + 1]]);
        let len = u16::from_be_bytes([body[at + 2], body[at + 3]]) as usize;
        tlvs.insert(tag, body[at + 4..at + 4 + len].to_vec());
        at += 4 + len;
    }
    Submitted {
        message_id: String::new(),
        source,
        destination,
        data_coding,
        esm_class,
        registered_delivery,
        text: decode(data_coding, short_message),
        tlvs,
        at: std::time::Instant::now(),
    }
}

/// The text of a short message: UCS-2 big-endian, or the GSM default
/// alphabet one septet per byte (as Kannel sends it).
fn decode(data_coding: u8, bytes: &[u8]) -> String {
    if data_coding == 8 {
        let units: Vec<u16> = bytes
            .chunks(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        return String::from_utf16_lossy(&units);
    }
    let mut out = String::new();
    let mut escaped = false;
    for &b in bytes {
        let c = match (escaped, b) {
            (true, 0x14) => '^',
            (true, 0x28) => '{',
            (true, 0x29) => '}',
            (true, 0x2F) => '\\',
            (true, 0x3C) => '[',
            (true, 0x3D) => '~',
            (true, 0x3E) => ']',
            (true, 0x40) => '|',
            (true, 0x65) => '€',
            (false, 0x1B) => {
                escaped = true;
                continue;
            }
            (_, 0x00) => '@',
            (_, 0x02) => '$',
            (_, 0x11) => '_',
            (_, b) => b as char,
        };
        escaped = false;
        out.push(c);
    }
    out
}
