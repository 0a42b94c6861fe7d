//! The `qrlink` command: parse the command line, run it, report errors on stderr.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match qrlink::main().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            if let Some(qrlink::ExitWith(code)) = error.downcast_ref() {
                return std::process::ExitCode::from(*code);
            }
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
