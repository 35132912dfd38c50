using Dapper;

namespace Foresight.Server.Plumbing;

/// <summary>
/// Copies the WAL back into the database file on a connection of its own, so that no writer pays for it.
/// SQLite otherwise checkpoints inside the commit that crosses 1,000 WAL pages, with the database file's fsync,
/// which stalls the single answer writer and with it every expert waiting for an acknowledgement. Writers turn
/// their automatic checkpoint off (<see cref="Db.WriterPragmas"/>); a PASSIVE checkpoint never blocks them.
/// </summary>
public sealed class Checkpointer(Db db, ILogger<Checkpointer> log) : BackgroundService
{
    /// <summary>How often the WAL is copied back; at most this much WAL builds up between checkpoints under load.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(500);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
                await CheckpointAsync("PASSIVE");
        }
        catch (OperationCanceledException) { }
        // On the way out, fold the WAL in entirely so that the file stands on its own.
        await CheckpointAsync("TRUNCATE");
    }

    async Task CheckpointAsync(string mode)
    {
        try
        {
            await using var c = await db.OpenAsync();
            await c.ExecuteAsync("PRAGMA busy_timeout = 1000;");
            await c.QueryAsync($"PRAGMA wal_checkpoint({mode});");
        }
        // A checkpoint that fails is tried again at the next tick; the data is safe in the WAL meanwhile.
        catch (Exception e) { log.LogWarning(e, "WAL checkpoint ({Mode}) failed", mode); }
    }
}
