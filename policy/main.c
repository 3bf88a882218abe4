/* placeholder until policy lands */
int main(void);
int
main(void)
{
	return 0;
}
