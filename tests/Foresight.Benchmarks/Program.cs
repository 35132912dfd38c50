using Foresight.Benchmarks;

// dotnet run -c Release --project tests/Foresight.Benchmarks -- stats [--topics 700] [--answers 1000000]
var verb = args.FirstOrDefault() ?? "";
return verb switch
{
    "stats" => StatsBenchmark.Run(args[1..]),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: Foresight.Benchmarks stats [--topics N] [--answers N] [--repeat N]");
    return 2;
}
