//! QR code encoding, rendering and verification for qrlink. Filled in by the QR engine work.
