int camio_test_placeholder(void);
