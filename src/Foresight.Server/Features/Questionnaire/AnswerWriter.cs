using System.Text.Json;
using System.Threading.Channels;
using Foresight.Core.Answers;
using Foresight.Core.Statistics;
using Foresight.Core.Surveys;
using Foresight.Server.Features.Live;
using Foresight.Server.Plumbing;
using Microsoft.Data.Sqlite;

namespace Foresight.Server.Features.Questionnaire;

/// <summary>One expert's save of one topic, checked for access before it is queued.</summary>
public sealed record Submission(
    long SurveyId, SurveyDefinition Survey, long RoundId, int RoundNumber, long MemberId, string Pseudonym, string Topic, long TopicId,
    IReadOnlyDictionary<string, JsonElement> Answers, IReadOnlyDictionary<string, string?> Rationales,
    Func<string, PreviousQuartiles?> Quartiles, string? IdempotencyKey, string? BodyHash)
{
    internal readonly TaskCompletionSource<SaveOutcome> Done = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

public abstract record SaveOutcome
{
    /// <param name="Answers">the expert's answers to the topic after the save</param>
    public sealed record Saved(IReadOnlyDictionary<string, QuestionAnswer> Answers, IReadOnlyList<string> Changed, bool Complete) : SaveOutcome;
    public sealed record Invalid(IReadOnlyList<AnswerError> Errors) : SaveOutcome;
    public sealed record Replayed(string Response) : SaveOutcome;
    public sealed record Refused(string Detail) : SaveOutcome;
}

/// <summary>
/// Writes answers with group commit: submissions queue up, one writer takes all that are waiting and handles them
/// in one transaction on a long-lived connection with prepared statements, then acknowledges each after the commit.
/// Each submission runs in its own savepoint, so one that fails cannot spoil the others. Checking against the
/// expert's current answers happens here, in order, so two saves of one topic never race.
/// </summary>
public sealed class AnswerWriter(Db db, LivePublisher live, ILogger<AnswerWriter> log) : BackgroundService
{
    public const int MaxBatch = 512;
    readonly Channel<Submission> _queue = Channel.CreateUnbounded<Submission>(new UnboundedChannelOptions { SingleReader = true });
    Statements? _statements;

    // WAL checkpoints (issue 9): SQLite's automatic checkpoint ran in the writer's commits, copying about 1,000 pages
    // into the database file and syncing it every few batches while every queued save waited. A checkpointer on a
    // connection of its own now copies committed pages beside the writer. The WAL only starts over when a write
    // begins with every frame copied and no reader in the WAL, which a checkpointer beside continuous commits never
    // sees; so once the WAL holds RestartFrames frames, the writer copies the few pages the checkpointer has not
    // reached yet and waits for the readers of the moment to finish (Restart), and its next commit starts the WAL over.
    // Each restart holds the writer for two syncs and the last pages' copy (17 ms on average at national scale, up to
    // 60): at 2,000 frames that was every 8 batches and 16 % of the writer's time; at 16,384 (a WAL of 64 MiB) 3.5 %.
    public int RestartFrames { get; set; } = 16384;
    readonly SemaphoreSlim _checkpointWanted = new(0, 1);
    volatile bool _restartWanted;
    volatile int _walFrames; // as the checkpointer last saw it
    // One checkpoint at a time: the writer's waits for the checkpointer's pass to end instead of finding it busy.
    readonly object _checkpointGate = new();
    int _batchesSinceCheckpoint;

    /// <summary>Set by the endpoint: how a successful save is answered (also stored for an Idempotency-Key).</summary>
    public Func<Submission, SaveOutcome.Saved, string>? Respond { get; set; }

    public async Task<SaveOutcome> SubmitAsync(Submission s)
    {
        if (!_queue.Writer.TryWrite(s)) throw new InvalidOperationException("the answer writer has stopped");
        return await s.Done.Task;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<Submission>(MaxBatch);
        using var stopCheckpoints = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var checkpointer = Task.Factory.StartNew(() => CheckpointLoop(stopCheckpoints.Token), stopCheckpoints.Token, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        try
        {
            while (await _queue.Reader.WaitToReadAsync(stoppingToken))
            {
                batch.Clear();
                while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var s)) batch.Add(s);
                await WriteBatchAsync(batch);
            }
        }
        catch (OperationCanceledException) { }
        finally
        {
            stopCheckpoints.Cancel();
            try { await checkpointer; } catch (OperationCanceledException) { }
            _statements?.Dispose();
            while (_queue.Reader.TryRead(out var s)) s.Done.TrySetCanceled();
        }
    }

    /// <summary>Copies committed pages from the WAL into the database file, beside the writer, whenever it has committed.</summary>
    void CheckpointLoop(CancellationToken stop)
    {
        SqliteConnection? c = null;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                _checkpointWanted.Wait(stop);
                try
                {
                    if (c is null)
                    {
                        c = db.OpenAsync(stop).GetAwaiter().GetResult();
                        // A connection that has read nothing yet does not know the file is in WAL mode: its checkpoints
                        // do nothing and report no WAL (-1 frames), and the WAL would never start over.
                        using var read = c.CreateCommand();
                        read.CommandText = "PRAGMA journal_mode";
                        read.ExecuteScalar();
                    }
                    int rc, frames;
                    lock (_checkpointGate) (rc, frames, _) = Checkpoint(c);
                    if (rc == SQLitePCL.raw.SQLITE_OK) Interlocked.Exchange(ref _batchesSinceCheckpoint, 0);
                    if (rc == SQLitePCL.raw.SQLITE_OK) _walFrames = frames;
                    if (rc == SQLitePCL.raw.SQLITE_OK && frames >= RestartFrames) _restartWanted = true;
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    log.LogWarning(e, "A WAL checkpoint beside the answer writer failed; the writer checkpoints itself");
                    c?.Dispose();
                    c = null;
                    _restartWanted = true;
                }
                // Commits in the meantime are copied together by the next pass.
                stop.WaitHandle.WaitOne(TimeSpan.FromMilliseconds(20));
            }
        }
        catch (OperationCanceledException) { }
        finally { c?.Dispose(); }
    }

    /// <summary>A passive checkpoint (never waits for the writer or readers): the result code, the WAL's frames and those copied.</summary>
    static (int Rc, int Log, int Copied) Checkpoint(SqliteConnection c)
    {
        int rc = SQLitePCL.raw.sqlite3_wal_checkpoint_v2(c.Handle, "main", SQLitePCL.raw.SQLITE_CHECKPOINT_PASSIVE, out int log, out int copied);
        return (rc, log, copied);
    }

    /// <summary>
    /// Copies what is left and waits, briefly, until no reader uses the WAL, so that the next commit starts it over.
    /// A passive checkpoint cannot do this: under steady requests some reader always holds a snapshot, and the WAL
    /// then grows without end (SQLite's "checkpoint starvation").
    /// </summary>
    static int Restart(SqliteConnection c, int waitMs)
    {
        SQLitePCL.raw.sqlite3_busy_timeout(c.Handle, waitMs);
        try { return SQLitePCL.raw.sqlite3_wal_checkpoint_v2(c.Handle, "main", SQLitePCL.raw.SQLITE_CHECKPOINT_RESTART, out _, out _); }
        finally { SQLitePCL.raw.sqlite3_busy_timeout(c.Handle, Db.BusyTimeoutMs); }
    }

    // Readers hold a snapshot for a query's length (milliseconds); saves wait behind this at most once per restart.
    // Past four times RestartFrames (readers slowed by an overloaded machine kept missing the short wait), the writer
    // waits up to a second: a pause of the saves rather than a WAL without bound.
    const int RestartWaitMs = 50, RestartLongWaitMs = 1000;

    async Task WriteBatchAsync(List<Submission> batch)
    {
        var outcomes = new SaveOutcome?[batch.Count];
        try
        {
            await db.WithWriteGateAsync(async () =>
            {
                var st = _statements ??= await Statements.OpenAsync(db);
                // The WAL is long: copy what the checkpointer has not reached (little), so that this batch starts it
                // over. Also if the checkpointer has not run for long, so the WAL stays bounded without it.
                if (_restartWanted || Interlocked.Increment(ref _batchesSinceCheckpoint) > 500)
                {
                    int rc;
                    lock (_checkpointGate) rc = Restart(st.Connection, _walFrames > 4 * RestartFrames ? RestartLongWaitMs : RestartWaitMs);
                    // Readers still busy: this batch goes ahead, the next one tries again.
                    if (rc == SQLitePCL.raw.SQLITE_OK)
                    {
                        _restartWanted = false;
                        Interlocked.Exchange(ref _batchesSinceCheckpoint, 0);
                    }
                }
                using var tx = st.Connection.BeginTransaction(deferred: false);
                st.Enlist(tx);
                var now = Db.Iso(DateTimeOffset.UtcNow);
                var roundOpen = new Dictionary<long, string?>();
                for (int i = 0; i < batch.Count; i++)
                {
                    st.Savepoint.ExecuteNonQuery();
                    try
                    {
                        outcomes[i] = Process(st, batch[i], now, roundOpen);
                        st.Release.ExecuteNonQuery();
                    }
                    // Any failure of one submission (not only SQLite's) is that submission's alone: the others commit.
                    catch (Exception e)
                    {
                        st.RollbackTo.ExecuteNonQuery();
                        st.Release.ExecuteNonQuery();
                        log.LogError(e, "Saving answers of member {Member} to {Topic} failed", batch[i].MemberId, batch[i].Topic);
                        outcomes[i] = null;
                    }
                }
                tx.Commit();
                st.Enlist(null);
                if (_checkpointWanted.CurrentCount == 0) try { _checkpointWanted.Release(); } catch (SemaphoreFullException) { }
            });
        }
        catch (Exception e)
        {
            log.LogError(e, "An answer batch of {Count} could not be committed", batch.Count);
            _statements?.Dispose();
            _statements = null;
            foreach (var s in batch) s.Done.TrySetException(e);
            return;
        }
        for (int i = 0; i < batch.Count; i++)
        {
            var s = batch[i];
            if (outcomes[i] is not { } outcome) { s.Done.TrySetException(new InvalidOperationException("the answer could not be stored")); continue; }
            // The answer is committed: it is acknowledged even if the live view fails to take it; otherwise the
            // rest of the batch would never be answered.
            if (outcome is SaveOutcome.Saved { Changed.Count: > 0 } saved)
                try { live.AnswerSaved(s.SurveyId, s.MemberId, s.Pseudonym, s.Topic, saved.Answers); }
                catch (Exception e) { log.LogError(e, "The live view could not take the answers of member {Member} to {Topic}", s.MemberId, s.Topic); }
            s.Done.TrySetResult(outcome);
        }
    }

    SaveOutcome Process(Statements st, Submission s, string now, Dictionary<long, string?> roundOpen)
    {
        if (s.IdempotencyKey is not null)
        {
            st.SelectSubmission.Parameters["$member"].Value = s.MemberId;
            st.SelectSubmission.Parameters["$key"].Value = s.IdempotencyKey;
            using var r = st.SelectSubmission.ExecuteReader();
            if (r.Read())
                return r.GetString(0) == s.BodyHash
                    ? new SaveOutcome.Replayed(r.GetString(1))
                    : new SaveOutcome.Refused("This Idempotency-Key was used for a different request; use a new key for new answers.");
        }
        // The round may have closed, or its deadline passed, since the request was checked.
        if (!roundOpen.TryGetValue(s.RoundId, out var closedWhy))
        {
            st.SelectRound.Parameters["$round"].Value = s.RoundId;
            using var r = st.SelectRound.ExecuteReader();
            r.Read();
            var status = r.GetString(0);
            var deadline = r.IsDBNull(1) ? null : r.GetString(1);
            closedWhy = status != "open" ? $"Round {s.RoundNumber} has closed; answers are no longer taken."
                : deadline is not null && string.CompareOrdinal(deadline, now) <= 0 ? $"The deadline of round {s.RoundNumber} ({deadline}) has passed; answers are no longer taken."
                : null;
            roundOpen[s.RoundId] = closedWhy;
        }
        if (closedWhy is not null) return new SaveOutcome.Refused(closedWhy);

        // The topic's row: every answer of the expert to it, the questions' and the rankings' (kept as they are).
        st.SelectCurrent.Parameters["$round"].Value = s.RoundId;
        st.SelectCurrent.Parameters["$member"].Value = s.MemberId;
        st.SelectCurrent.Parameters["$topic"].Value = s.TopicId;
        var stored = st.SelectCurrent.ExecuteScalar() is string json ? TopicAnswerRow.Parse(json) : new Dictionary<string, TopicAnswerRow.Entry>(StringComparer.Ordinal);
        var current = new Dictionary<string, QuestionAnswer>(StringComparer.Ordinal);
        foreach (var (q, e) in stored)
            if (s.Survey.Question(q) is not null)
                current[q] = new QuestionAnswer(AnswerValue.FromStored(e.Value, e.Number), e.Rationale);

        var outcome = TopicAnswers.Apply(s.Survey, s.RoundNumber, current, s.Answers, s.Rationales, s.Quartiles);
        if (!outcome.Ok) return new SaveOutcome.Invalid(outcome.Errors);

        // Only what changed is written; an unchanged answer writes nothing, so a repeated request is stored once.
        var changed = new List<string>();
        AnswerHistory.Writer? history = null;
        foreach (var question in current.Keys.Union(outcome.Answers.Keys).Order(StringComparer.Ordinal))
        {
            current.TryGetValue(question, out var old);
            outcome.Answers.TryGetValue(question, out var @new);
            if (old is not null && @new is not null && old.Value.Text == @new.Value.Text && old.Rationale == @new.Rationale) continue;
            changed.Add(question);
            if (@new is null) stored.Remove(question);
            else stored[question] = new TopicAnswerRow.Entry(@new.Value.Text, @new.Value.Number, @new.Rationale,
                (stored.TryGetValue(question, out var before) ? before.Revision : 0) + 1, now);
            history ??= AnswerHistory.Start();
            AnswerHistory.Add(history, question, @new?.Value.Text, @new?.Value.Number, @new?.Rationale);
        }
        if (history is not null)
        {
            // The whole row at once (one upsert instead of one per question), or no row once nothing is left.
            var answers = TopicAnswerRow.Write(stored);
            var write = answers is null ? st.DeleteAnswers : st.UpsertAnswers;
            write.Parameters["$round"].Value = s.RoundId;
            write.Parameters["$member"].Value = s.MemberId;
            write.Parameters["$topic"].Value = s.TopicId;
            if (answers is not null)
            {
                write.Parameters["$answers"].Value = answers;
                write.Parameters["$now"].Value = now;
            }
            write.ExecuteNonQuery();
            // One history row per save, with every question it changed.
            var h = st.InsertHistory.Parameters;
            h["$round"].Value = s.RoundId;
            h["$member"].Value = s.MemberId;
            h["$topic"].Value = s.TopicId;
            h["$changes"].Value = AnswerHistory.Finish(history);
            h["$now"].Value = now;
            st.InsertHistory.ExecuteNonQuery();
        }
        var saved = new SaveOutcome.Saved(outcome.Answers, changed,
            outcome.Answers.Count > 0 && TopicAnswers.IsComplete(s.Survey, s.RoundNumber, outcome.Answers));
        if (s.IdempotencyKey is not null && Respond is { } respond)
        {
            var p = st.InsertSubmission.Parameters;
            p["$member"].Value = s.MemberId;
            p["$key"].Value = s.IdempotencyKey;
            p["$hash"].Value = s.BodyHash;
            p["$response"].Value = respond(s, saved);
            p["$now"].Value = now;
            st.InsertSubmission.ExecuteNonQuery();
        }
        return saved;
    }

    /// <summary>The writer's connection and its prepared statements, kept for the life of the process.</summary>
    sealed class Statements : IDisposable
    {
        public required SqliteConnection Connection { get; init; }
        public required SqliteCommand Savepoint, Release, RollbackTo, SelectSubmission, InsertSubmission, SelectRound, SelectCurrent, UpsertAnswers, DeleteAnswers, InsertHistory;

        IEnumerable<SqliteCommand> All => [Savepoint, Release, RollbackTo, SelectSubmission, InsertSubmission, SelectRound, SelectCurrent, UpsertAnswers, DeleteAnswers, InsertHistory];

        public void Enlist(SqliteTransaction? tx) { foreach (var c in All) c.Transaction = tx; }

        public static async Task<Statements> OpenAsync(Db db)
        {
            var c = await db.OpenAsync();
            await using (var pragma = c.CreateCommand())
            {
                // A page cache that holds the answer index of a national round (SQLite's default is 2 MB), and no
                // larger: a commit after a B-tree rebalance walks the cache's whole hash table (balance_nonroot renames
                // a page through the lock-byte page's number, so the cache's highest key jumps past the database's
                // size). At 128 MiB that walk was 10 % of the server's CPU at national scale; a miss here costs a
                // read from the operating system's file cache instead.
                // Checkpoints are the checkpointer's (see RestartFrames), not this connection's commits'.
                pragma.CommandText = db.WriterPragmas + " PRAGMA cache_size = -16384; PRAGMA wal_autocheckpoint = 0;";
                await pragma.ExecuteNonQueryAsync();
            }
            SqliteCommand Cmd(string sql, params string[] parameters)
            {
                var cmd = c.CreateCommand();
                cmd.CommandText = sql;
                foreach (var p in parameters) cmd.Parameters.Add(new SqliteParameter(p, null));
                return cmd;
            }
            var st = new Statements
            {
                Connection = c,
                Savepoint = Cmd("SAVEPOINT answer"),
                Release = Cmd("RELEASE answer"),
                RollbackTo = Cmd("ROLLBACK TO answer"),
                SelectSubmission = Cmd("SELECT body_hash, response FROM submissions WHERE member_id = $member AND idempotency_key = $key", "$member", "$key"),
                InsertSubmission = Cmd("INSERT INTO submissions (member_id, idempotency_key, body_hash, response, created_at) VALUES ($member, $key, $hash, $response, $now)",
                    "$member", "$key", "$hash", "$response", "$now"),
                SelectRound = Cmd("SELECT status, deadline FROM rounds WHERE id = $round", "$round"),
                SelectCurrent = Cmd("SELECT answers FROM topic_answers WHERE round_id = $round AND member_id = $member AND topic_id = $topic",
                    "$round", "$member", "$topic"),
                UpsertAnswers = Cmd("""
                    INSERT INTO topic_answers (round_id, member_id, topic_id, answers, updated_at) VALUES ($round, $member, $topic, $answers, $now)
                    ON CONFLICT (round_id, member_id, topic_id) DO UPDATE SET answers = excluded.answers, updated_at = excluded.updated_at
                    """, "$round", "$member", "$topic", "$answers", "$now"),
                DeleteAnswers = Cmd("DELETE FROM topic_answers WHERE round_id = $round AND member_id = $member AND topic_id = $topic",
                    "$round", "$member", "$topic"),
                InsertHistory = Cmd("INSERT INTO answer_history (round_id, member_id, topic_id, changes, recorded_at) VALUES ($round, $member, $topic, $changes, $now)",
                    "$round", "$member", "$topic", "$changes", "$now"),
            };
            foreach (var cmd in st.All) cmd.Prepare();
            return st;
        }

        public void Dispose()
        {
            foreach (var c in All) c.Dispose();
            Connection.Dispose();
        }
    }
}
