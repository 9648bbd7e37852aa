//! A TCP proxy a test stands between two parties: it can drop responses
//! (a lossy mobile network) or cut every connection and refuse new ones for a
//! while (a database link going down), then carry on.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

#[derive(Default)]
struct State {
    /// False while cut: new connections are closed at once.
    open: AtomicBool,
    /// Of every ten connections, how many lose their response.
    lose_in_ten: u64,
    accepted: AtomicU64,
    dropped: AtomicU64,
    piping: Mutex<Vec<AbortHandle>>,
}

pub struct Proxy {
    pub addr: SocketAddr,
    state: Arc<State>,
    accepting: AbortHandle,
}

impl Proxy {
    /// A faithful proxy to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Proxy {
        Self::lossy(upstream, 0).await
    }

    /// A proxy that, on `lose_in_ten` of every ten connections, passes the
    /// request on and then closes the connection as soon as the answer starts,
    /// so the server did the work and the client never hears of it.
    pub async fn lossy(upstream: SocketAddr, lose_in_ten: u64) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State {
            open: AtomicBool::new(true),
            lose_in_ten,
            ..State::default()
        });
        let shared = state.clone();
        let accepting = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                if !shared.open.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let n = shared.accepted.fetch_add(1, Ordering::SeqCst);
                let lose = n % 10 < shared.lose_in_ten;
                let task = tokio::spawn(pipe(client, upstream, lose, shared.clone()));
                let mut piping = shared.piping.lock().unwrap();
                piping.retain(|t| !t.is_finished());
                piping.push(task.abort_handle());
            }
        })
        .abort_handle();
        Proxy {
            addr,
            state,
            accepting,
        }
    }

    /// Closes every connection through the proxy and refuses new ones.
    pub fn cut(&self) {
        self.state.open.store(false, Ordering::SeqCst);
        for task in self.state.piping.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    /// Lets connections through again.
    pub fn reopen(&self) {
        self.state.open.store(true, Ordering::SeqCst);
    }

    /// Responses the proxy threw away.
    pub fn dropped(&self) -> u64 {
        self.state.dropped.load(Ordering::SeqCst)
    }

    /// Connections it accepted while open.
    pub fn accepted(&self) -> u64 {
        self.state.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accepting.abort();
        self.cut();
    }
}

async fn pipe(mut client: TcpStream, upstream: SocketAddr, lose: bool, state: Arc<State>) {
    let Ok(mut server) = TcpStream::connect(upstream).await else {
        return;
    };
    if !lose {
        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
        return;
    }
    let (mut from_client, client_side) = client.into_split();
    let (mut from_server, mut to_server) = server.into_split();
    let forward = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut from_client, &mut to_server).await;
    });
    // The first byte of the answer means the request was served in full.
    let mut first = [0u8; 1];
    if matches!(from_server.read(&mut first).await, Ok(1)) {
        state.dropped.fetch_add(1, Ordering::SeqCst);
    }
    forward.abort();
    drop(client_side);
}
