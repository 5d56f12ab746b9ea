use super::*;
use std::sync::Mutex;

/// A journal file that counts its syncs and fails them once told to.
#[derive(Debug, Default)]
struct Counting {
    syncs: Mutex<u32>,
    failing: std::sync::atomic::AtomicBool,
}

impl JournalFile for Counting {
    fn size(&self) -> io::Result<u64> {
        Ok(0)
    }

    fn read_exact_at(&self, _: &mut [u8], _: u64) -> io::Result<()> {
        Ok(())
    }

    fn write_all_at(&self, _: &[u8], _: u64) -> io::Result<()> {
        Ok(())
    }

    fn sync_data(&self) -> io::Result<()> {
        *self.syncs.lock().unwrap() += 1;
        match self.failing.load(std::sync::atomic::Ordering::SeqCst) {
            true => Err(io::Error::other("the disk failed")),
            false => Ok(()),
        }
    }
}

fn syncs(file: &Counting) -> u32 {
    *file.syncs.lock().unwrap()
}

#[test]
fn each_sync_started_runs_once_and_reports_its_result_on_a_thread_or_when_owed() {
    for background in [true, false] {
        let counting = Arc::new(Counting::default());
        let file: Arc<dyn JournalFile> = counting.clone();
        let syncer = Syncer::new(background);
        assert_eq!(syncer.thread.is_some(), background);

        let sync = syncer.start(&file);
        assert_eq!(matches!(sync, JournalSync::Running(_)), background);
        sync.wait().unwrap();
        assert_eq!(syncs(&counting), 1, "background: {background}");

        counting
            .failing
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let error = syncer.start(&file).wait().unwrap_err();
        assert_eq!(error.to_string(), "the disk failed");
        assert_eq!(syncs(&counting), 2, "background: {background}");
    }
}

#[test]
fn an_owed_sync_runs_only_when_waited_for() {
    let counting = Arc::new(Counting::default());
    let file: Arc<dyn JournalFile> = counting.clone();
    let sync = Syncer::new(false).start(&file);
    assert_eq!(syncs(&counting), 0);
    sync.wait().unwrap();
    assert_eq!(syncs(&counting), 1);
}
