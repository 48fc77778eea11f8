//! Generates the dispatch service's gRPC client (and the server trait, which
//! the integration tests implement) from `proto/dispatch.proto`. Needs
//! `protoc` (Debian: `protobuf-compiler`).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/dispatch.proto");
    tonic_build::configure()
        .build_client(true)
        .build_server(true)
        .build_transport(false)
        .compile_protos(&["proto/dispatch.proto"], &["proto"])?;
    Ok(())
}
