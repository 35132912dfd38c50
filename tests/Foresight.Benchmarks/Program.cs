using Foresight.Benchmarks;

// dotnet build -c Release Foresight.sln, then
// dotnet run -c Release --project tests/Foresight.Benchmarks -- stats | live | report | national | insights | import
var verb = args.FirstOrDefault() ?? "";
return verb switch
{
    "stats" => StatsBenchmark.Run(args[1..]),
    "live" => await LiveBenchmark.RunAsync(args[1..]),
    "report" => await ReportBenchmark.RunAsync(args[1..]),
    "national" => await NationalBenchmark.RunAsync(args[1..]),
    "insights" => InsightsBenchmark.Run(args[1..]),
    "import" => await ImportBenchmark.RunAsync(args[1..]),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: Foresight.Benchmarks stats [--topics N] [--answers N] [--repeat N]");
    Console.Error.WriteLine("       Foresight.Benchmarks report [--topics 700]");
    Console.Error.WriteLine(
        "       Foresight.Benchmarks national [--scale 1] [--concurrency 64] [--seconds 600] [--answers N] [--warmup 10] [--baseline-seconds 10] " +
        "[--workstation-gc] [--ladder]");
    Console.Error.WriteLine("       Foresight.Benchmarks live [--clients 1000] [--rate 500] [--seconds 30] [--warmup 10] [--experts 500]");
    Console.Error.WriteLine("       Foresight.Benchmarks insights [--records 10000] [--repeat 3]");
    Console.Error.WriteLine(
        "       Foresight.Benchmarks import [--experts 200] [--interval-ms 1000] [--warmup 10] [--baseline-seconds 30] [--per-theme 40562] [--abstract-words " +
        "64]");
    return 2;
}
