namespace Foresight.Testing;

/// <summary>
/// The system clock, moved forward by the test: a server given it sees a deadline or a reminder time come at once,
/// instead of the test waiting for it (and depending on how fast a busy machine gets there).
/// </summary>
public sealed class TestClock : TimeProvider
{
    long _aheadTicks;

    public TimeSpan Ahead => TimeSpan.FromTicks(Interlocked.Read(ref _aheadTicks));

    public void Advance(TimeSpan by) => Interlocked.Add(ref _aheadTicks, by.Ticks);

    public override DateTimeOffset GetUtcNow() => TimeProvider.System.GetUtcNow() + Ahead;
}
