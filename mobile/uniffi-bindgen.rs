//! `uniffi-bindgen`, built from the same uniffi as the library: `scripts/bindings.sh` runs it in
//! library mode to write the Kotlin, Swift and Python bindings.

fn main() {
    uniffi::uniffi_bindgen_main()
}
