/** A CLIXML error stream for the tests (written here after the format pywinrm also reads). */
/** What Windows PowerShell 5.1 writes on stderr when the bootstrap fails under Constrained Language Mode. */
export const CLM_CLIXML =
  '#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04"><Obj S="progress" RefId="0"><TN RefId="0"><T>System.Management.Automation.PSCustomObject</T><T>System.Object</T></TN><MS><I64 N="SourceId">1</I64><PR N="Record"><AV>Preparing modules for first use.</AV><AI>0</AI><Nil /><PI>-1</PI><PC>-1</PC><T>Completed</T><SR>-1</SR><SD> </SD></PR></MS></Obj>' +
  '<S S="Error">Cannot invoke method. Method invocation is supported only on core types in this language mode._x000D__x000A_</S>' +
  '<S S="Error">At line:1 char:1_x000D__x000A_</S><S S="Error">+ $s = [Console]::In.ReadLine() &amp; _x000D__x000A_</S></Objs>';
